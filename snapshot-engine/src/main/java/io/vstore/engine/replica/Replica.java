package io.vstore.engine.replica;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The primary side of a running pair: the interceptor on the primary volume that applies every
 * change locally and on the secondary in parallel, and the worker that connects, syncs, resyncs
 * after a disconnect and advances the pin that names what the secondary durably has.
 *
 * <p>States: SYNCING (every write mirrored, the worker copies what the secondary lacks), ACTIVE
 * (every write mirrored), DISCONNECTED and PAUSED (writes go to the primary alone; the change log
 * since the pin says what to send later), FENCED (the secondary was promoted: writes are refused).
 */
final class Replica implements VolumeInterceptor {
  enum State { SYNCING, ACTIVE, DISCONNECTED, PAUSED, FENCED }

  /** How often an ACTIVE pair with writes but no flushes advances its pin. */
  private static final long CHECKPOINT_MILLIS = 2000;

  /** Opens the secondary of a record; the registry supplies it. */
  interface SecondaryOpener {
    Secondary open(ReplicaRecord primary) throws IOException;
  }

  private final Datastore datastore;
  private final ReplicaStore store;
  private final SecondaryOpener opener;
  private final ReplicaListener listener;
  private final long retryMillis;
  private final long size;
  /** Guarded by {@code this} for changes; read freely. */
  private volatile ReplicaRecord record;
  private volatile State state;
  private volatile Secondary secondary;
  private volatile String lastError;
  /** When the secondary last held every acknowledged write (nanoTime), or 0 while it does. */
  private volatile long behindSince;
  /**
   * Held shared by every intercepted operation for its whole length, exclusively to switch to
   * SYNCING (after which every write mirrors) and to drain before a pin advances.
   */
  private final ReentrantReadWriteLock mirror = new ReentrantReadWriteLock();
  private final RangeGate gate = new RangeGate();
  private final ReplicaSync sync;
  /** Raised at every disconnect: a checkpoint begun before one must not advance the pin. */
  private final AtomicLong incarnation = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong bytesMirrored = new AtomicLong();
  private final ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
  private final Object wake = new Object();
  private volatile boolean closed;
  private Thread worker;

  Replica(Datastore datastore, ReplicaStore store, ReplicaRecord record, SecondaryOpener opener, ReplicaListener listener,
      long retryMillis) throws IOException {
    this.datastore = datastore;
    this.store = store;
    this.record = record;
    this.opener = opener;
    this.listener = listener;
    this.retryMillis = retryMillis;
    this.size = datastore.volumeInfo(record.volume()).size();
    this.state = switch (record.state()) {
      case "PAUSED" -> State.PAUSED;
      case "FENCED" -> State.FENCED;
      default -> State.DISCONNECTED;
    };
    this.behindSince = System.nanoTime();
    this.sync = new ReplicaSync(this, size, gate);
  }

  /** Installs the interceptor and starts the worker. */
  void start() throws IOException {
    datastore.setInterceptor(record.volume(), this);
    worker = Thread.ofVirtual().name("replica " + record.id()).start(this::run);
  }

  ReplicaRecord record() {
    return record;
  }

  State state() {
    return state;
  }

  Datastore datastore() {
    return datastore;
  }

  // ---- the interceptor: every change of the primary volume, from any handle ----

  @Override
  public void write(long offset, ByteBuffer src, Local local) throws IOException {
    ByteBuffer copy = src.duplicate();
    mirrored(offset, src.remaining(), local, sec -> sec.write(offset, copy, record.epoch()));
  }

  @Override
  public void zero(long offset, long length, boolean discard, Local local) throws IOException {
    mirrored(offset, length, local, sec -> sec.zero(offset, length, discard, record.epoch()));
  }

  @Override
  public void flush(Local local) throws IOException {
    mirror.readLock().lock();
    try {
      Secondary sec = mirroring();
      if (sec == null) {
        local.apply();
        return;
      }
      Future<Void> remote = io.submit(() -> {
        sec.flush(record.epoch());
        return null;
      });
      IOException localFailure = null;
      try {
        local.apply();
      } catch (IOException e) {
        localFailure = e;
      }
      awaitRemote(remote, sec);
      if (localFailure != null) {
        throw localFailure;
      }
      flushes.incrementAndGet();
    } finally {
      mirror.readLock().unlock();
    }
    synchronized (wake) {
      wake.notifyAll(); // the worker advances the pin after flushes
    }
  }

  private interface RemoteOp {
    void run(Secondary sec) throws IOException;
  }

  private void mirrored(long offset, long length, Local local, RemoteOp op) throws IOException {
    if (SecondaryGuard.WRITER.isBound()) {
      throw new FencedException("fenced: volume " + record.volume() + " is the primary of replica " + record.id()
          + "; a replication stream may not write it");
    }
    mirror.readLock().lock();
    try {
      State s = state;
      if (s == State.FENCED) {
        throw new ReadOnlyDeviceException("fenced: replica " + record.id() + " was promoted on its secondary "
            + record.peer() + "; volume " + record.volume() + " no longer takes writes (" + lastError + ")");
      }
      Secondary sec = mirroring();
      if (sec == null) {
        local.apply();
        return;
      }
      long[] range = s == State.SYNCING ? gate.enter(offset, length) : null;
      try {
        Future<Void> remote = io.submit(() -> {
          op.run(sec);
          return null;
        });
        IOException localFailure = null;
        try {
          local.apply();
        } catch (IOException e) {
          localFailure = e;
        }
        boolean sent = awaitRemote(remote, sec);
        if (localFailure != null) {
          if (sent) {
            repair(offset, length, sec); // the secondary took what the primary refused: put the primary's bytes back
          }
          throw localFailure;
        }
        if (sent) {
          bytesMirrored.addAndGet(length);
        }
      } finally {
        if (range != null) {
          gate.exit(range);
        }
      }
    } finally {
      mirror.readLock().unlock();
    }
  }

  /** Returns the secondary when writes are mirrored now, else null. */
  private Secondary mirroring() {
    State s = state;
    return s == State.ACTIVE || s == State.SYNCING ? secondary : null;
  }

  /** Waits for the secondary's part; returns whether it succeeded. Fencing is thrown; other failures disconnect. */
  private boolean awaitRemote(Future<Void> remote, Secondary sec) throws IOException {
    try {
      remote.get();
      return true;
    } catch (ExecutionException e) {
      if (FencedException.isFencing(e.getCause())) {
        fence(e.getCause());
        throw new ReadOnlyDeviceException("fenced: replica " + record.id() + ": " + e.getCause().getMessage());
      }
      disconnect(sec, e.getCause());
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      disconnect(sec, e);
      throw new InterruptedIOException("interrupted waiting for the secondary " + record.peer());
    }
  }

  private void repair(long offset, long length, Secondary sec) {
    try (Volume v = datastore.volume(record.volume(), true)) {
      for (long done = 0; done < length; done += ReplicaSync.CHUNK) {
        int n = (int) Math.min(ReplicaSync.CHUNK, length - done);
        ByteBuffer b = ByteBuffer.allocate(n);
        v.read(offset + done, b);
        sec.write(offset + done, b.flip(), record.epoch());
      }
    } catch (IOException e) {
      disconnect(sec, e);
    }
  }

  // ---- state changes ----

  private void disconnect(Secondary sec, Throwable cause) {
    synchronized (this) {
      if (secondary != sec || !(state == State.ACTIVE || state == State.SYNCING)) {
        return;
      }
      state = State.DISCONNECTED;
      incarnation.incrementAndGet();
      lastError = String.valueOf(cause.getMessage());
      behindSince = System.nanoTime();
      secondary = null;
    }
    closeQuietly(sec);
    event("disconnected");
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  private void fence(Throwable cause) {
    synchronized (this) {
      if (state == State.FENCED) {
        return;
      }
      state = State.FENCED;
      incarnation.incrementAndGet();
      lastError = String.valueOf(cause.getMessage());
      try {
        persist(record.withState("FENCED"));
      } catch (IOException e) {
        lastError += "; the FENCED state could not be saved: " + e.getMessage();
      }
    }
    event("fenced");
  }

  /**
   * Stops mirroring and closes the secondary until {@link #resume}. An ACTIVE pair first advances
   * its pin, so the resume sends only what changes while paused.
   */
  void pause() throws IOException {
    if (state == State.ACTIVE) {
      try {
        checkpoint();
      } catch (IOException e) {
        // The secondary failing now only means a larger resync; pausing must still work.
      }
    }
    Secondary sec;
    synchronized (this) {
      if (state == State.FENCED) {
        throw new IllegalStateException("replica " + record.id() + " is fenced: remove it or re-protect from the promoted side");
      }
      persist(record.withState("PAUSED"));
      state = State.PAUSED;
      incarnation.incrementAndGet();
      if (behindSince == 0) {
        behindSince = System.nanoTime();
      }
      sec = secondary;
      secondary = null;
    }
    closeQuietly(sec);
    event("paused");
  }

  /** Leaves PAUSED: the worker reconnects and resyncs. */
  void resume() throws IOException {
    synchronized (this) {
      if (state != State.PAUSED) {
        return;
      }
      persist(record.withState("ACTIVE"));
      state = State.DISCONNECTED;
    }
    event("resumed");
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  /** Writes {@code next} and makes it the replica's record. */
  synchronized void persist(ReplicaRecord next) throws IOException {
    store.write(next);
    record = next;
  }

  private void event(String name) {
    try {
      listener.replicaChanged(name, status());
    } catch (RuntimeException | IOException e) {
      // A listener's failure must not fail the I/O path that reported the change.
    }
  }

  // ---- the worker: connect, sync, checkpoint ----

  private void run() {
    while (!closed) {
      try {
        State s = state;
        if (s == State.DISCONNECTED) {
          connectAndSync();
        } else if (s == State.ACTIVE) {
          long seenFlushes = flushes.get();
          long seenBytes = bytesMirrored.get();
          waitForWake(CHECKPOINT_MILLIS);
          // After a client's flush, and every few seconds of writes without one (a guest that
          // never flushes would otherwise leave the pin, and the next resync, ever further behind).
          if (state == State.ACTIVE && (flushes.get() != seenFlushes || bytesMirrored.get() != seenBytes)) {
            checkpoint();
          }
        } else {
          waitForWake(1000);
        }
      } catch (IOException e) {
        Secondary sec = secondary;
        if (FencedException.isFencing(e)) {
          fence(e);
        } else if (sec != null) {
          disconnect(sec, e);
        } else {
          lastError = e.getMessage();
        }
        if (!closed && state == State.DISCONNECTED) {
          waitForWake(retryMillis);
        }
      } catch (RuntimeException e) {
        lastError = e.toString();
        waitForWake(retryMillis);
      }
    }
  }

  private void waitForWake(long millis) {
    synchronized (wake) {
      try {
        wake.wait(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closed = true;
      }
    }
  }

  private void connectAndSync() throws IOException {
    Secondary sec = opener.open(record);
    if (sec.size() < size) {
      closeQuietly(sec);
      throw new IOException("secondary " + sec + " holds " + sec.size() + " bytes, less than volume " + record.volume()
          + "'s " + size);
    }
    mirror.writeLock().lock();
    try {
      synchronized (this) {
        if (state != State.DISCONNECTED || closed) {
          closeQuietly(sec);
          return;
        }
        secondary = sec;
        state = State.SYNCING; // from here on every write mirrors; earlier ones are in the change log
      }
    } finally {
      mirror.writeLock().unlock();
    }
    event("syncing");
    sync.run(sec);
    synchronized (this) {
      if (state != State.SYNCING || secondary != sec) {
        return;
      }
      state = State.ACTIVE;
      behindSince = 0;
      sync.finished();
    }
    checkpoint();
    event("in-sync");
  }

  /** Throws if the sync over {@code sec} must stop: the replica closed, or {@code sec} is no longer its secondary. */
  void checkOpen(Secondary sec) throws IOException {
    if (closed || secondary != sec) {
      throw new IOException("sync of replica " + record.id() + " stopped (" + state + ")");
    }
  }

  /**
   * Advances the pin to the primary's committed generation once every write in it is durable on
   * the secondary: take the change id (flushing), wait for writes in flight (their mirror halves
   * finish), flush the secondary, and pin only if no disconnect happened meanwhile.
   */
  private void checkpoint() throws IOException {
    long inc = incarnation.get();
    Secondary sec = secondary;
    if (sec == null || state != State.ACTIVE) {
      return;
    }
    // changeId, not volumeInfo: the latter also walks the whole block map for its space figures,
    // which took a second of CPU per checkpoint on a 1 GiB volume of random 4 KiB writes (JFR).
    String own = datastore.changeId(record.volume());
    mirror.writeLock().lock();
    mirror.writeLock().unlock();
    String theirs = sec.flushedChangeId(); // flushes the secondary: every write now drained is durable there
    synchronized (this) {
      if (state != State.ACTIVE || incarnation.get() != inc || secondary != sec) {
        return;
      }
      ReplicaRecord r = record;
      if (own.equals(r.ownPin()) && java.util.Objects.equals(theirs, r.peerPin())) {
        return;
      }
      Pins.pin(datastore, r.id(), own);
      if (theirs != null) {
        sec.agreed(theirs, own);
      }
      persist(r.withPins(own, theirs));
      Pins.unpinOthers(datastore, r.id(), r.volume(), own);
    }
  }

  // ---- status and lifetime ----

  /** Returns the pair as seen from this side; bytes behind are computed from the change log when disconnected. */
  ReplicaStatus status() throws IOException {
    ReplicaRecord r = record;
    State s = state;
    long behind = 0;
    if (s == State.SYNCING) {
      behind = Math.max(0, sync.remaining());
    } else if (s != State.ACTIVE) {
      long copiedUpTo = Math.min(r.fullCopyFrom(), size);
      behind = size - copiedUpTo;
      if (r.ownPin() != null && copiedUpTo > 0 && !closed) {
        for (Extent e : datastore.changedAreas(r.volume(), r.ownPin(), 0, copiedUpTo).extents()) {
          behind += e.length();
        }
      }
    }
    long since = behindSince;
    double lag = since == 0 ? 0 : (System.nanoTime() - since) / 1e9;
    return new ReplicaStatus(r.id(), "PRIMARY", datastore.path().toString(), r.volume(), r.peer(), r.peerVolume(), s.name(),
        r.epoch(), behind, lag, sync.bytesSent(), bytesMirrored.get(), lastError, r.created());
  }

  /** Bytes the syncs copied since start (tests count them). */
  long bytesSent() {
    return sync.bytesSent();
  }

  /** Stops the worker and the interceptor; the record stays, so the pair resumes at the next start. */
  void close(boolean clearInterceptor) throws IOException {
    closed = true;
    synchronized (wake) {
      wake.notifyAll();
    }
    if (worker != null) {
      // Not interrupted: an interrupt closes the datastore's file channels under a read in progress.
      try {
        worker.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (clearInterceptor) {
      datastore.clearInterceptor(record.volume());
    }
    Secondary sec;
    synchronized (this) {
      sec = secondary;
      secondary = null;
      if (state == State.ACTIVE || state == State.SYNCING) {
        state = State.DISCONNECTED;
      }
    }
    closeQuietly(sec);
    io.shutdown();
  }

  private static void closeQuietly(Secondary sec) {
    if (sec != null) {
      try {
        sec.close();
      } catch (IOException | RuntimeException e) {
        // Closing a failed secondary often fails too; the replica has already moved on.
      }
    }
  }
}
