package io.vstore.blockstore.testing;

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
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * File channels that can suffer a simulated power cut: every write not yet made durable by
 * {@code force} is then kept, dropped, or cut short at random (H2's FilePathReorderWrites).
 * Optionally, {@code force} fails after a countdown, as a dying disk would. Lost bytes read back
 * as zeros, which is what a lost append leaves; it is meant for append-only files.
 */
public final class PowerCutChannels {
  private final Random random;
  private final List<Channel> channels = new ArrayList<>();
  private int forcesUntilFailure = -1;
  private volatile java.util.concurrent.CountDownLatch held;
  private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
  private boolean cut;

  public PowerCutChannels(long seed) {
    this.random = new Random(seed);
  }

  /** Opens {@code path} through a channel that remembers its unsynced writes. */
  public synchronized FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException {
    if (cut) {
      throw new IOException("power is off: cannot open " + path);
    }
    Set<OpenOption> withRead = new HashSet<>(options);
    withRead.add(StandardOpenOption.READ);
    // This wrapper plays the page cache itself (it keeps, drops or cuts unsynced writes at the
    // power cut), and the zeros it writes to drop a write are not aligned for O_DIRECT.
    withRead.remove(com.sun.nio.file.ExtendedOpenOption.DIRECT);
    Channel c = new Channel(path, FileChannel.open(path, withRead));
    channels.add(c);
    return c;
  }

  /** Makes every force wait for {@code gate} (null: no more waiting), as a slow disk would. */
  public void holdForces(java.util.concurrent.CountDownLatch gate) {
    held = gate;
  }

  /** Returns how many forces are waiting at the gate of {@link #holdForces}. */
  public int forcesHeld() {
    return waiting.get();
  }

  /** Makes the {@code n}-th next force (counting from 1) fail, and every one after it. */
  public synchronized void failForceAfter(int n) {
    forcesUntilFailure = n;
  }

  /**
   * Cuts the power: every open channel loses, keeps or truncates each unsynced write at random,
   * and refuses all further calls.
   */
  public synchronized void cut() throws IOException {
    cut = true;
    for (Channel c : channels) {
      c.cut(random);
    }
  }

  private synchronized void beforeForce(Path path) throws IOException {
    if (cut) {
      throw new IOException("power is off: cannot sync " + path);
    }
    if (forcesUntilFailure > 0 && --forcesUntilFailure == 0) {
      forcesUntilFailure = 0;
    }
    if (forcesUntilFailure == 0) {
      throw new IOException("injected failure: cannot sync " + path);
    }
  }

  /** A write that has not been forced yet: where, how long, and the file size before it. */
  private record Pending(long position, int length) {}

  private final class Channel extends FileChannel {
    private final Path path;
    private final FileChannel delegate;
    private final List<Pending> pending = new ArrayList<>(); // guarded by this
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

    synchronized void cut(Random r) throws IOException {
      if (dead || !delegate.isOpen() || pending.isEmpty()) {
        // Nothing unsynced through this channel (a reader's size may be stale: leave the file be).
        if (!dead && delegate.isOpen()) {
          delegate.close();
        }
        dead = true;
        return;
      }
      long keepEnd = syncedSize;
      for (Pending p : pending) {
        int choice = r.nextInt(3);
        long end = p.position() + p.length();
        if (choice == 0) {
          keepEnd = Math.max(keepEnd, end); // the write reached the platter
          continue;
        }
        long from = choice == 1 ? p.position() : p.position() + r.nextInt(p.length() + 1);
        if (from < end) {
          // Lost bytes of an append read back as whatever the sector held: zeros here.
          delegate.write(ByteBuffer.allocate((int) (end - from)), from);
        }
        if (choice == 2) {
          keepEnd = Math.max(keepEnd, from);
        }
      }
      delegate.truncate(Math.max(keepEnd, syncedSize));
      delegate.force(true);
      delegate.close();
      dead = true;
    }

    @Override
    public synchronized int write(ByteBuffer src, long position) throws IOException {
      alive();
      int n = delegate.write(src, position);
      pending.add(new Pending(position, n));
      return n;
    }

    @Override
    public synchronized int read(ByteBuffer dst, long position) throws IOException {
      alive();
      return delegate.read(dst, position);
    }

    @Override
    public void force(boolean metaData) throws IOException {
      java.util.concurrent.CountDownLatch gate = held;
      if (gate != null) {
        waiting.incrementAndGet();
        try {
          gate.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("interrupted while held before syncing " + path);
        } finally {
          waiting.decrementAndGet();
        }
      }
      beforeForce(path);
      synchronized (this) {
        alive();
        delegate.force(metaData);
        pending.clear();
        syncedSize = delegate.size();
      }
    }

    @Override
    public synchronized int read(ByteBuffer dst) throws IOException {
      alive();
      return delegate.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      throw new UnsupportedOperationException("scattering reads are not simulated");
    }

    @Override
    public synchronized int write(ByteBuffer src) throws IOException {
      alive();
      long pos = delegate.position();
      int n = delegate.write(src);
      pending.add(new Pending(pos, n));
      return n;
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
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
    public synchronized FileChannel truncate(long size) throws IOException {
      alive();
      delegate.truncate(size);
      return this;
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
