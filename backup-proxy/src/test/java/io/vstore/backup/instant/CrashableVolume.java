package io.vstore.backup.instant;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A fake thin volume that can crash: 4 KiB blocks, a block of zeros holds nothing (a hole, as in
 * a vstore volume), and changes since the last flush are kept as a list of operations. A crash
 * keeps a random prefix of them, as the datastore's background flusher may have committed any
 * prefix of the unflushed changes (commits are ordered), and the rest is lost.
 */
final class CrashableVolume implements BlockDevice {
  static final int BLOCK = 4096;

  private final String name;
  private final long size;
  /** Blocks as of the last flush. */
  private final Map<Long, byte[]> durable;
  /** Blocks as they are now. */
  private final Map<Long, byte[]> live;
  /** Each unflushed operation: the blocks it set (null value: made a hole). */
  private final List<Map<Long, byte[]>> pending = new ArrayList<>();
  private boolean crashed;
  private boolean closed;

  CrashableVolume(String name, long size) {
    this(name, size, new HashMap<>());
  }

  private CrashableVolume(String name, long size, Map<Long, byte[]> durable) {
    this.name = name;
    this.size = size;
    this.durable = durable;
    this.live = new HashMap<>(durable);
  }

  /** Makes every later call fail, as a process that died; the state stays for {@link #recover}. */
  synchronized void crash() {
    crashed = true;
  }

  /** Returns the volume as a restart after the crash finds it: the durable state and a random prefix of the rest. */
  synchronized CrashableVolume recover(Random random) {
    Map<Long, byte[]> state = new HashMap<>(durable);
    int keep = random.nextInt(pending.size() + 1);
    for (int i = 0; i < keep; i++) {
      apply(state, pending.get(i));
    }
    return new CrashableVolume(name, size, state);
  }

  private static void apply(Map<Long, byte[]> state, Map<Long, byte[]> op) {
    op.forEach((b, data) -> {
      if (data == null) {
        state.remove(b);
      } else {
        state.put(b, data);
      }
    });
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public synchronized void read(long offset, ByteBuffer dst) throws IOException {
    check();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      long b = pos / BLOCK;
      int within = (int) (pos % BLOCK);
      int n = Math.min(dst.remaining(), BLOCK - within);
      byte[] data = live.get(b);
      if (data == null) {
        dst.put(new byte[n]);
      } else {
        dst.put(data, within, n);
      }
      pos += n;
    }
  }

  @Override
  public synchronized void write(long offset, ByteBuffer src) throws IOException {
    check();
    OutOfRangeException.check(this, offset, src.remaining());
    Map<Long, byte[]> op = new HashMap<>();
    long pos = offset;
    while (src.hasRemaining()) {
      long b = pos / BLOCK;
      int within = (int) (pos % BLOCK);
      int n = Math.min(src.remaining(), BLOCK - within);
      byte[] data = live.containsKey(b) ? live.get(b).clone() : new byte[BLOCK];
      src.get(data, within, n);
      op.put(b, isZero(data) ? null : data);
      pos += n;
    }
    commit(op);
  }

  private void commit(Map<Long, byte[]> op) {
    apply(live, op);
    pending.add(op);
  }

  private static boolean isZero(byte[] data) {
    for (byte x : data) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  @Override
  public synchronized void flush() throws IOException {
    check();
    for (Map<Long, byte[]> op : pending) {
      apply(durable, op);
    }
    pending.clear();
  }

  @Override
  public synchronized void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    check();
    OutOfRangeException.check(this, offset, length);
    long end = offset + length;
    long pos = offset;
    Map<Long, byte[]> op = new HashMap<>();
    while (pos < end) {
      long b = pos / BLOCK;
      int within = (int) (pos % BLOCK);
      int n = (int) Math.min(end - pos, BLOCK - within);
      byte[] data = live.get(b);
      if (data != null) {
        data = data.clone();
        Arrays.fill(data, within, within + n, (byte) 0);
        op.put(b, isZero(data) ? null : data);
      }
      pos += n;
    }
    commit(op);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  @Override
  public synchronized List<Extent> allocation(long offset, long length) throws IOException {
    check();
    OutOfRangeException.check(this, offset, length);
    ExtentList out = new ExtentList();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long b = pos / BLOCK;
      long blockEnd = Math.min(end, (b + 1) * BLOCK);
      out.add(pos, blockEnd - pos, live.containsKey(b) ? Extent.Kind.DATA : Extent.Kind.HOLE);
      pos = blockEnd;
    }
    return out.toList();
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  private void check() throws IOException {
    if (crashed) {
      throw new IOException(name + " crashed");
    }
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (!crashed && !closed) {
      flush();
    }
    closed = true;
  }

  @Override
  public String toString() {
    return "fake volume " + name;
  }
}
