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
 * as zeros, which is what a lost append leaves; it is meant for append-only files. Files updated
 * in place (disk images) use {@link #inPlace}: there a lost write leaves the bytes it overwrote,
 * and a write cut short keeps whole 512-byte sectors, as a disk does.
 */
public final class PowerCutChannels {
  private final Random random;
  private final boolean inPlace;
  private final List<Channel> channels = new ArrayList<>();
  private int forcesUntilFailure = -1;
  private volatile java.util.concurrent.CountDownLatch held;
  private final java.util.concurrent.atomic.AtomicInteger waiting = new java.util.concurrent.atomic.AtomicInteger();
  private boolean cut;

  public PowerCutChannels(long seed) {
    this(seed, false);
  }

  private PowerCutChannels(long seed, boolean inPlace) {
    this.random = new Random(seed);
    this.inPlace = inPlace;
  }

  /**
   * Returns channels for files that are overwritten in place: a lost write reads back as the bytes
   * it overwrote (zeros past the old end), and a partly lost one keeps whole sectors.
   */
  public static PowerCutChannels inPlace(long seed) {
    return new PowerCutChannels(seed, true);
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

  /**
   * A write that has not been forced yet: where and how long; in place, also the bytes it wrote
   * and the bytes it overwrote (up to the end of the file as it was).
   */
  private record Pending(long position, int length, byte[] data, byte[] before) {}

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
      if (inPlace) {
        keepEnd = cutInPlace(r);
        pending.clear();
      }
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

    /**
     * Puts back what each pending write overwrote (latest first), then replays the part of each
     * that reached the disk (in order): whole writes, or a prefix cut at a sector boundary.
     * Returns the end of the kept data.
     */
    private long cutInPlace(Random r) throws IOException {
      long[] keptUpTo = new long[pending.size()];
      for (int i = 0; i < keptUpTo.length; i++) {
        Pending p = pending.get(i);
        int choice = r.nextInt(3);
        long cutAt = p.position() + r.nextInt(p.length() + 1);
        keptUpTo[i] = switch (choice) {
          case 0 -> p.position() + p.length();
          case 1 -> p.position();
          default -> Math.max(p.position(), cutAt / 512 * 512);
        };
      }
      for (int i = pending.size() - 1; i >= 0; i--) {
        Pending p = pending.get(i);
        delegate.write(ByteBuffer.wrap(p.before()), p.position());
        if (p.before().length < p.length()) {
          delegate.write(ByteBuffer.allocate(p.length() - p.before().length), p.position() + p.before().length);
        }
      }
      long keepEnd = syncedSize;
      for (int i = 0; i < keptUpTo.length; i++) {
        Pending p = pending.get(i);
        int kept = (int) (keptUpTo[i] - p.position());
        delegate.write(ByteBuffer.wrap(p.data(), 0, kept), p.position());
        keepEnd = Math.max(keepEnd, keptUpTo[i]);
      }
      return keepEnd;
    }

    private Pending record(long position, ByteBuffer src) throws IOException {
      if (!inPlace) {
        return null;
      }
      byte[] data = new byte[src.remaining()];
      src.duplicate().get(data);
      ByteBuffer before = ByteBuffer.allocate((int) Math.max(0, Math.min(data.length, delegate.size() - position)));
      while (before.hasRemaining() && delegate.read(before, position + before.position()) >= 0) {
        // reads until the old end
      }
      return new Pending(position, data.length, data, before.array());
    }

    private void remember(Pending recorded, long position, int n) {
      if (recorded == null) {
        pending.add(new Pending(position, n, null, null));
      } else {
        // A short write wrote only the first n bytes.
        pending.add(new Pending(position, n, java.util.Arrays.copyOf(recorded.data(), n),
            java.util.Arrays.copyOf(recorded.before(), Math.min(n, recorded.before().length))));
      }
    }

    @Override
    public synchronized int write(ByteBuffer src, long position) throws IOException {
      alive();
      Pending recorded = record(position, src);
      int n = delegate.write(src, position);
      remember(recorded, position, n);
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
      Pending recorded = record(pos, src);
      int n = delegate.write(src);
      remember(recorded, pos, n);
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
