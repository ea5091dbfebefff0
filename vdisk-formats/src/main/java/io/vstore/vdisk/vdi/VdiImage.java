package io.vstore.vdisk.vdi;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.ExtentList;
import io.vstore.vdisk.CloseSteps;
import io.vstore.vdisk.FileContent;
import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open VDI file. Blocks are 1 MiB and map guest bytes one to one, so unaligned requests need no
 * read-modify-write; a newly allocated block is written whole (zeros around the new bytes) because
 * its space may hold the leftovers of an interrupted earlier allocation.
 */
final class VdiImage implements DiskImage {
  /** Block map entry of a block never written. */
  static final int FREE = -1;
  /** Block map entry of a block discarded: reads zeros. */
  static final int ZERO = -2;
  private static final byte[] ZEROS = new byte[64 * 1024];

  private final Path path;
  private final FileChannel channel;
  private final boolean readOnly;
  private final long blockSize;

  /** Guards the block map and the header; data I/O to allocated blocks shares it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private final int[] map;
  @GuardedBy("lock")
  private final int[] owner; // for each allocated block index, the entry using it
  @GuardedBy("lock")
  private final BitSet dirty = new BitSet(); // changed under the write lock
  @GuardedBy("lock")
  private VdiHeader header;
  @GuardedBy("lock")
  private boolean headerDirty; // changed under the write lock
  private volatile boolean closed;
  private volatile boolean syncOnFlush = true;

  VdiImage(Path path, FileChannel channel, boolean readOnly, VdiHeader header, int[] map) {
    this.path = path;
    this.channel = channel;
    this.readOnly = readOnly;
    this.header = header;
    this.map = map;
    this.blockSize = header.blockSize();
    this.owner = new int[map.length];
    java.util.Arrays.fill(owner, -1);
    for (int i = 0; i < map.length; i++) {
      if (map[i] != FREE && map[i] != ZERO) {
        owner[map[i]] = i;
      }
    }
  }

  @Override
  public Path path() {
    return path;
  }

  @Override
  public long size() {
    return header.diskSize();
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public Optional<DiskImage> backing() {
    return Optional.empty();
  }

  @Override
  public String toString() {
    return "vdi " + path;
  }

  private void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  @Override
  public ImageInfo info() throws IOException {
    ensureOpen();
    Map<String, Object> details = new LinkedHashMap<>();
    lock.readLock().lock();
    try {
      details.put("blocksAllocated", header.blocksAllocated());
      details.put("uuid", header.created().toString());
      details.put("banner", header.banner().strip());
    } finally {
      lock.readLock().unlock();
    }
    String sub = header.imageType() == VdiHeader.FIXED ? "fixed" : "dynamic";
    return new ImageInfo(path.toString(), VdiFormat.NAME, sub, size(), channel.size(), blockSize, null,
        List.of(path.toString()), details);
  }

  private long blockOffset(int index) {
    return header.dataOffset() + Integer.toUnsignedLong(index) * (blockSize + header.blockExtra()) + header.blockExtra();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    ensureOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    long pos = offset;
    while (dst.hasRemaining()) {
      int block = (int) (pos / blockSize);
      long in = pos % blockSize;
      int n = (int) Math.min(dst.remaining(), blockSize - in);
      ByteBuffer part = dst.slice(dst.position(), n);
      lock.readLock().lock();
      try {
        int e = map[block];
        if (e == FREE || e == ZERO) {
          zero(part);
        } else {
          FileContent.readOrZero(channel, blockOffset(e) + in, part);
        }
      } finally {
        lock.readLock().unlock();
      }
      dst.position(dst.position() + n);
      pos += n;
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    ensureOpen();
    if (readOnly) {
      throw new ReadOnlyDeviceException(this);
    }
    OutOfRangeException.check(this, offset, src.remaining());
    long pos = offset;
    while (src.hasRemaining()) {
      int block = (int) (pos / blockSize);
      long in = pos % blockSize;
      int n = (int) Math.min(src.remaining(), blockSize - in);
      ByteBuffer part = src.slice(src.position(), n);
      writeInBlock(block, in, part);
      src.position(src.position() + n);
      pos += n;
    }
  }

  private void writeInBlock(int block, long in, ByteBuffer part) throws IOException {
    lock.readLock().lock();
    try {
      int e = map[block];
      if (e != FREE && e != ZERO) {
        writeFully(blockOffset(e) + in, part);
        return;
      }
    } finally {
      lock.readLock().unlock();
    }
    lock.writeLock().lock();
    try {
      int e = map[block];
      if (e != FREE && e != ZERO) {
        writeFully(blockOffset(e) + in, part);
        return;
      }
      long index = header.blocksAllocated();
      if (index >= header.blocks()) {
        throw new io.vstore.blockstore.OutOfSpaceException(this + ": all " + header.blocks() + " blocks are allocated");
      }
      ByteBuffer whole;
      if (in == 0 && part.remaining() == blockSize) {
        whole = part;
      } else {
        whole = ByteBuffer.allocate((int) blockSize);
        whole.put((int) in, part, part.position(), part.remaining());
      }
      writeFully(blockOffset((int) index), whole);
      map[block] = (int) index;
      owner[(int) index] = block;
      dirty.set(block);
      header = header.withBlocksAllocated(index + 1);
      headerDirty = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    ensureOpen();
    if (readOnly) {
      throw new ReadOnlyDeviceException(this);
    }
    OutOfRangeException.check(this, offset, length);
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long n = Math.min(end - pos, blockSize - pos % blockSize);
      int block = (int) (pos / blockSize);
      if (n == blockSize && header.imageType() != VdiHeader.FIXED) {
        release(block);
      } else if (!readsZeros(block)) {
        for (long done = 0; done < n; ) {
          int k = (int) Math.min(ZEROS.length, n - done);
          write(pos + done, ByteBuffer.wrap(ZEROS, 0, k));
          done += k;
        }
      }
      pos += n;
    }
  }

  /**
   * Marks a whole block as discarded. VDI readers (qemu among them) expect the allocated blocks to
   * be exactly the first {@code blocksAllocated} of the data area, so the last block moves into
   * the freed slot; until the next flush the on-disk map still points at the last block's old
   * place, which stays intact.
   */
  private void release(int block) throws IOException {
    lock.writeLock().lock();
    try {
      int index = map[block];
      if (index == FREE || index == ZERO) {
        return;
      }
      int last = (int) header.blocksAllocated() - 1;
      if (index != last) {
        ByteBuffer buf = ByteBuffer.allocate((int) blockSize);
        FileContent.readOrZero(channel, blockOffset(last), buf);
        writeFully(blockOffset(index), buf.flip());
        int moved = owner[last];
        map[moved] = index;
        owner[index] = moved;
        dirty.set(moved);
      }
      owner[last] = -1;
      map[block] = ZERO;
      dirty.set(block);
      header = header.withBlocksAllocated(last);
      headerDirty = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  private boolean readsZeros(int block) {
    lock.readLock().lock();
    try {
      return map[block] == FREE || map[block] == ZERO;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    ensureOpen();
    OutOfRangeException.check(this, offset, length);
    ExtentList out = new ExtentList();
    long pos = offset;
    long end = offset + length;
    lock.readLock().lock();
    try {
      while (pos < end) {
        long n = Math.min(end - pos, blockSize - pos % blockSize);
        int e = map[(int) (pos / blockSize)];
        if (e != FREE && e != ZERO && header.imageType() == VdiHeader.FIXED) {
          // Every block of a fixed image stays allocated: zero runs show as ZERO so copies skip them.
          FileContent.describeByContent(channel, blockOffset(e) + pos % blockSize, pos, n, out);
        } else {
          out.add(pos, n, e == FREE ? Extent.Kind.HOLE : e == ZERO ? Extent.Kind.ZERO : Extent.Kind.DATA);
        }
        pos += n;
      }
    } finally {
      lock.readLock().unlock();
    }
    return out.toList();
  }


  @Override
  public void flush() throws IOException {
    ensureOpen();
    if (readOnly) {
      return;
    }
    lock.writeLock().lock();
    try {
      sync();
      if (dirty.isEmpty() && !headerDirty) {
        return;
      }
      // Data first, then the block map, then the header's count: an interruption between the last
      // two leaves a count mismatch that check reports (as qemu-img check does).
      if (!dirty.isEmpty()) {
        int perSector = 512 / 4;
        int from = dirty.nextSetBit(0) / perSector * perSector;
        int to = Math.min(map.length, (dirty.previousSetBit(dirty.length()) / perSector + 1) * perSector);
        ByteBuffer buf = ByteBuffer.allocate((to - from) * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = from; i < to; i++) {
          buf.putInt(map[i]);
        }
        writeFully(header.blockMapOffset() + (long) from * 4, buf.flip());
        dirty.clear();
      }
      if (headerDirty) {
        writeFully(0, header.toBuffer());
        headerDirty = false;
      }
      sync();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Makes {@link #flush()} write metadata without syncing, like qemu-img's {@code -t unsafe}: for
   * conversions whose output is discarded when they fail. A killed process still leaves a valid
   * file (the page cache keeps every write); a power loss may not.
   */
  void skipSyncOnFlush() {
    syncOnFlush = false;
  }

  private void sync() throws IOException {
    if (syncOnFlush) {
      channel.force(false);
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    CloseSteps steps = new CloseSteps();
    if (!readOnly) {
      steps.run(this::flush);
    }
    closed = true;
    steps.run(channel::close);
    steps.finish();
  }


  private void writeFully(long position, ByteBuffer src) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += channel.write(src, pos);
    }
  }

  private static void zero(ByteBuffer b) {
    while (b.hasRemaining()) {
      b.put(ZEROS, 0, Math.min(ZEROS.length, b.remaining()));
    }
  }
}
