package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A {@link ChannelOpener} whose files can suffer a simulated power cut, for formats that rewrite
 * structures in place (blockstore's PowerCutChannels zero-fills lost writes, which suits its
 * append-only segments). Until {@code force}, a disk with a volatile cache may write sectors in
 * any order: at the cut, every 512-byte sector written since the last force holds its content
 * before those writes or after any one of them, chosen at random. A force can be made to fail,
 * leaving its writes unsynced, to cut the power in the middle of a flush.
 */
final class OverwritePowerCut implements ChannelOpener {
  static final int SECTOR = 512;
  private final Random random;
  private final List<Channel> channels = new ArrayList<>();
  private int forcesUntilFailure = -1;
  private boolean cut;

  OverwritePowerCut(long seed) {
    this.random = new Random(seed);
  }

  @Override
  public synchronized FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
    if (cut) {
      throw new IOException("power is off: cannot open " + path);
    }
    Set<OpenOption> withRead = new HashSet<>(options);
    withRead.add(StandardOpenOption.READ);
    Channel c = new Channel(path, FileChannel.open(path, withRead));
    channels.add(c);
    return c;
  }

  /** Makes the {@code n}-th next force (counting from 1) fail, and every one after it. */
  synchronized void failForceAfter(int n) {
    forcesUntilFailure = n;
  }

  /** Cuts the power: each unsynced sector keeps one of its possible contents; all later calls fail. */
  synchronized void cut() throws IOException {
    cut = true;
    for (Channel c : channels) {
      c.cut(random);
    }
  }

  private synchronized void beforeForce(Path path) throws IOException {
    if (cut) {
      throw new IOException("power is off: cannot sync " + path);
    }
    if (forcesUntilFailure > 0) {
      forcesUntilFailure--;
    }
    if (forcesUntilFailure == 0) {
      throw new IOException("injected failure: cannot sync " + path);
    }
  }

  private final class Channel extends FileChannel {
    private final Path path;
    private final FileChannel delegate;
    /** Per unsynced sector: its content at the last force (first), then after each write to it. */
    private final Map<Long, List<byte[]>> versions = new HashMap<>();
    private long syncedSize;
    private boolean dead;

    Channel(Path path, FileChannel delegate) throws IOException {
      this.path = path;
      this.delegate = delegate;
      this.syncedSize = delegate.size();
    }

    private void alive() throws IOException {
      if (dead) {
        throw new IOException("power is off: " + path);
      }
    }

    private byte[] sector(long s) throws IOException {
      ByteBuffer b = ByteBuffer.allocate(SECTOR);
      while (b.hasRemaining() && delegate.read(b, s * SECTOR + b.position()) > 0) {
        // read up to the end of file; the rest stays zero
      }
      return b.array();
    }

    synchronized void cut(Random r) throws IOException {
      if (dead || !delegate.isOpen()) {
        dead = true;
        return;
      }
      long end = syncedSize;
      for (Map.Entry<Long, List<byte[]>> e : versions.entrySet()) {
        List<byte[]> v = e.getValue();
        int pick = r.nextInt(v.size());
        delegate.write(ByteBuffer.wrap(v.get(pick)), e.getKey() * SECTOR);
        if (pick > 0) {
          end = Math.max(end, (e.getKey() + 1) * SECTOR);
        }
      }
      delegate.truncate(Math.min(end, Math.max(syncedSize, delegate.size())));
      delegate.force(true);
      delegate.close();
      dead = true;
    }

    @Override
    public synchronized int write(ByteBuffer src, long position) throws IOException {
      alive();
      long first = position / SECTOR;
      long last = (position + Math.max(src.remaining(), 1) - 1) / SECTOR;
      for (long s = first; s <= last; s++) {
        if (!versions.containsKey(s)) {
          List<byte[]> v = new ArrayList<>();
          v.add(s * SECTOR < syncedSize ? sector(s) : new byte[SECTOR]);
          versions.put(s, v);
        }
      }
      int n = delegate.write(src, position);
      for (long s = first; s <= last; s++) {
        versions.get(s).add(sector(s));
      }
      return n;
    }

    @Override
    public synchronized int read(ByteBuffer dst, long position) throws IOException {
      alive();
      return delegate.read(dst, position);
    }

    @Override
    public void force(boolean metaData) throws IOException {
      beforeForce(path);
      synchronized (this) {
        alive();
        delegate.force(metaData);
        versions.clear();
        syncedSize = delegate.size();
      }
    }

    @Override
    public synchronized int read(ByteBuffer dst) throws IOException {
      alive();
      return delegate.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) {
      throw new UnsupportedOperationException("scattering reads are not simulated");
    }

    @Override
    public synchronized int write(ByteBuffer src) throws IOException {
      alive();
      int n = write(src, delegate.position());
      delegate.position(delegate.position() + n);
      return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) {
      throw new UnsupportedOperationException("gathering writes are not simulated");
    }

    @Override
    public synchronized long position() throws IOException {
      alive();
      return delegate.position();
    }

    @Override
    public synchronized FileChannel position(long newPosition) throws IOException {
      alive();
      delegate.position(newPosition);
      return this;
    }

    @Override
    public synchronized long size() throws IOException {
      alive();
      return delegate.size();
    }

    @Override
    public synchronized FileChannel truncate(long size) {
      throw new UnsupportedOperationException("truncation is not simulated");
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) {
      throw new UnsupportedOperationException("transfers are not simulated");
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) {
      throw new UnsupportedOperationException("transfers are not simulated");
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
      throw new UnsupportedOperationException("mapping is not simulated");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return delegate.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return delegate.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      if (!dead) {
        delegate.close();
      }
    }
  }
}
