package io.vstore.offline.client;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.StripedLocks;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.Frame;
import io.vstore.offline.FrameReader;
import io.vstore.offline.TransferException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * One disk of a streaming check-out ("instant on"), exported over NBD while it downloads: a chunk
 * already downloaded is served from the copy's volume; a read or write touching a chunk that has
 * not arrived first fetches it from the server on demand, ahead of the background download. A
 * chunk is written into the volume once, under its stripe lock and only while still absent, so the
 * download never overwrites what the guest wrote after it. The guest's writes while streaming are
 * listed durably (before each write, in {@code stream-dirty.log}) in blocks of {@link #DIRTY_BLOCK},
 * because they land before the base snapshot and the check-in must still send them. Chunks that
 * arrived are listed in {@code stream.log} after a flush made them durable; a restart after kill -9
 * fetches the others again, which can only replace bytes no completed flush covered.
 */
final class StreamingDisk implements BlockDevice {
  /** The unit of presence and of on-demand fetching. */
  static final int CHUNK = 1 << 20;
  static final int CHUNK_SHIFT = 20;
  /** The unit of the guest-write list. */
  static final int DIRTY_BLOCK = 64 << 10;
  static final int DIRTY_SHIFT = 16;
  /**
   * Chunks kept coming ahead of a guest that reads sequentially (a boot): fetched in the
   * background of its reads, so it mostly finds its next chunk there or already on its way.
   */
  static final int READ_AHEAD = 16;

  /** Fetches the checkpoint's frames of a range of this disk from the server. */
  @FunctionalInterface
  interface Source {
    /** Opens the frame stream of {@code [offset, offset + length)}; {@code demand} when a guest waits for it. */
    InputStream open(long offset, long length, boolean demand) throws IOException;
  }

  private final int index;
  private final Volume volume;
  private final Source source;
  private final StreamLog presentLog;
  private final StreamLog dirtyLog;
  private final long size;
  private final long chunks;
  private final String what;
  private final StripedLocks locks = new StripedLocks(1);
  /** Guarded by this. */
  private final BitSet present = new BitSet();
  /** Guarded by this: chunks that arrived since the last commit, to list once they are durable. */
  private final List<Long> pending = new ArrayList<>();
  /**
   * Guarded by this: chunks one fetch has claimed and is bringing in; whoever else needs one waits
   * for it instead of fetching it a second time, and fetches it itself if that fetch failed.
   */
  private final java.util.Map<Long, java.util.concurrent.CompletableFuture<Void>> inFlight = new java.util.HashMap<>();
  /** Where the guest's last read ended: a read starting near it is sequential and keeps the read-ahead going. */
  private volatile long readEnd;
  /** Guarded by dirty itself: blocks already listed as written by the guest. */
  private final BitSet dirty = new BitSet();
  /** Writes hold it shared; {@link #finish} takes it alone to snapshot the downloaded disk at one instant. */
  private final ReentrantReadWriteLock writes = new ReentrantReadWriteLock();
  /** Serializes commits so that runs are listed in the order their data became durable. */
  private final Object commit = new Object();
  private volatile boolean streaming = true;

  StreamingDisk(int index, Volume volume, Source source, StreamLog presentLog, StreamLog dirtyLog) {
    this.index = index;
    this.volume = volume;
    this.source = source;
    this.presentLog = presentLog;
    this.dirtyLog = dirtyLog;
    this.size = volume.size();
    this.chunks = (size + CHUNK - 1) >>> CHUNK_SHIFT;
    this.what = "streaming disk " + index + " (" + volume + ")";
    for (StreamLog.Run r : presentLog.runs()) {
      if (r.disk() == index) {
        present.set((int) Math.min(r.first(), chunks), (int) Math.min(r.first() + r.count(), chunks));
      }
    }
    for (StreamLog.Run r : dirtyLog.runs()) {
      if (r.disk() == index) {
        long blocks = (size + DIRTY_BLOCK - 1) >>> DIRTY_SHIFT;
        dirty.set((int) Math.min(r.first(), blocks), (int) Math.min(r.first() + r.count(), blocks));
      }
    }
  }

  /** Returns the disk's index in the VM. */
  int index() {
    return index;
  }

  /** Returns the number of chunks. */
  long chunks() {
    return chunks;
  }

  /** Returns whether chunk {@code c} has arrived (or was fetched on demand). */
  synchronized boolean isPresent(long c) {
    return present.get((int) c);
  }

  /** Returns the number of chunks that have arrived. */
  synchronized long presentCount() {
    return present.cardinality();
  }

  /** Returns the first absent chunk at or after {@code from}, or {@link #chunks()} when none. */
  synchronized long nextAbsent(long from) {
    long c = present.nextClearBit((int) from);
    return Math.min(c, chunks);
  }

  /**
   * Fetches chunks {@code [first, end)} from the server and writes every one still absent; a chunk
   * that arrived meanwhile (on demand, or by the background) is left as it is.
   */
  void fill(long first, long end, boolean demand) throws IOException {
    long offset = first << CHUNK_SHIFT;
    long length = Math.min(size, end << CHUNK_SHIFT) - offset;
    List<Frame> pieces = new ArrayList<>();
    long current = first;
    try (InputStream in = source.open(offset, length, demand)) {
      FrameReader r = new FrameReader(in, what);
      for (Frame f = r.next(); f != null && f.type() != Frame.Type.END; f = r.next()) {
        if (f.disk() != index || f.offset() < offset || f.offset() + f.length() > offset + length) {
          throw new TransferException("bad transfer stream for " + what + ": frame at " + f.offset()
              + " outside the range asked for");
        }
        if (f.type() != Frame.Type.DATA) {
          continue; // the new volume reads zeros already
        }
        // A frame may straddle chunks: each chunk gets its own piece, and is written once all its pieces are in.
        for (long pos = f.offset(); pos < f.offset() + f.length(); ) {
          long c = pos >>> CHUNK_SHIFT;
          if (c < current) {
            throw new TransferException("bad transfer stream for " + what + ": frame at " + f.offset()
                + " goes back before chunk " + current);
          }
          while (current < c) {
            apply(current++, pieces);
          }
          int n = (int) Math.min(f.offset() + f.length() - pos, ((c + 1) << CHUNK_SHIFT) - pos);
          pieces.add(new Frame(Frame.Type.DATA, index, pos, n, slice(f, pos, n)));
          pos += n;
        }
      }
    }
    while (current < end) {
      apply(current++, pieces);
    }
  }

  private static byte[] slice(Frame f, long pos, int n) {
    if (pos == f.offset() && n == f.length()) {
      return f.data();
    }
    int from = (int) (pos - f.offset());
    return java.util.Arrays.copyOfRange(f.data(), from, from + n);
  }

  private void apply(long chunk, List<Frame> pieces) throws IOException {
    long mask = locks.lock(chunk, chunk + 1);
    try {
      if (!isPresent(chunk)) {
        for (Frame p : pieces) {
          volume.write(p.offset(), ByteBuffer.wrap(p.data()));
        }
        synchronized (this) {
          present.set((int) chunk);
          pending.add(chunk);
        }
      }
    } finally {
      locks.unlock(mask);
      pieces.clear();
    }
    java.util.concurrent.CompletableFuture<Void> arrived;
    synchronized (this) {
      arrived = present.get((int) chunk) ? inFlight.remove(chunk) : null;
    }
    if (arrived != null) {
      arrived.complete(null);
    }
  }

  /**
   * Claims the chunks from {@code first} on, before {@code limit}, that are neither here nor on
   * their way, stopping at the first that is; returns the end of the claimed run ({@code first}
   * when none). The caller must {@link #fetchClaimed} them.
   */
  synchronized long claim(long first, long limit) {
    long end = first;
    while (end < limit && !present.get((int) end) && !inFlight.containsKey(end)) {
      inFlight.put(end, new java.util.concurrent.CompletableFuture<>());
      end++;
    }
    return end;
  }

  /**
   * Fetches the claimed chunks {@code [first, end)}; each one's waiters go on as soon as it is
   * written. On failure the chunks not written are released, so their waiters fetch them themselves.
   */
  void fetchClaimed(long first, long end, boolean demand) throws IOException {
    try {
      fill(first, end, demand);
    } finally {
      List<java.util.concurrent.CompletableFuture<Void>> failed = new ArrayList<>();
      synchronized (this) {
        for (long c = first; c < end; c++) {
          if (!present.get((int) c) && inFlight.containsKey(c)) {
            failed.add(inFlight.remove(c));
          }
        }
      }
      for (var f : failed) {
        f.completeExceptionally(new IOException("fetching chunk of " + what + " failed"));
      }
    }
  }

  /** Claims and fetches the run of absent chunks at {@code first} (before {@code limit}); returns its end, {@code first} when it was on its way already. */
  long fetchRun(long first, long limit, boolean demand) throws IOException {
    long end = claim(first, limit);
    if (end > first) {
      fetchClaimed(first, end, demand);
    }
    return end;
  }

  /**
   * Waits until no fetch of this disk is under way, at most {@code millis} ms (a stop lets the
   * read-ahead land before its last commit, but an unreachable server must not hold the stop up).
   */
  void awaitFetches(long millis) {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (true) {
      List<java.util.concurrent.CompletableFuture<Void>> coming;
      synchronized (this) {
        coming = new ArrayList<>(inFlight.values());
      }
      if (coming.isEmpty()) {
        return;
      }
      for (var f : coming) {
        try {
          f.get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          return; // what arrives later is not listed, and fetched again by the next run
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.CancellationException e) {
          // failed: released, nothing more to wait for
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private synchronized java.util.concurrent.CompletableFuture<Void> inFlight(long chunk) {
    return inFlight.get(chunk);
  }

  /**
   * Makes {@code [offset, offset + length)} present: waits for the chunks on their way and fetches
   * the others ({@code demand}: a guest waits, ahead of the background).
   */
  void ensure(long offset, long length, boolean demand) throws IOException {
    if (length == 0) {
      return;
    }
    long end = ((offset + length - 1) >>> CHUNK_SHIFT) + 1;
    for (long c = nextAbsent(offset >>> CHUNK_SHIFT); c < end; c = nextAbsent(c)) {
      java.util.concurrent.CompletableFuture<Void> coming = inFlight(c);
      if (coming != null) {
        try {
          coming.join();
        } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
          // that fetch failed: the chunk is released, and the next turn fetches it here
        }
        continue;
      }
      c = fetchRun(c, end, demand);
    }
  }

  /**
   * Keeps {@link #READ_AHEAD} chunks coming after a sequential read that ended at {@code end}: when
   * fewer than half of them are here or on their way, fetches the rest in one request on a thread
   * of its own, with a guest's priority. A failure there is left to the guest's own read to report.
   */
  private void readAhead(long offset, long end) {
    long previous = readEnd;
    readEnd = end;
    if (Math.abs(offset - previous) > CHUNK) {
      return; // not sequential
    }
    long from = ((end - 1) >>> CHUNK_SHIFT) + 1;
    long limit = Math.min(chunks, from + READ_AHEAD);
    long first;
    long stop;
    synchronized (this) {
      first = from;
      while (first < limit && (present.get((int) first) || inFlight.containsKey(first))) {
        first++;
      }
      if (first >= limit || first - from > READ_AHEAD / 2) {
        return; // enough is here or coming
      }
      stop = claim(first, limit);
    }
    long claimedFrom = first;
    long claimedTo = stop;
    Thread.ofVirtual().name("vstore-read-ahead").start(() -> {
      try {
        fetchClaimed(claimedFrom, claimedTo, true);
      } catch (IOException | RuntimeException e) {
        System.getLogger("io.vstore.offline").log(System.Logger.Level.DEBUG, "read-ahead of " + what + " at chunk "
            + claimedFrom + " failed: " + e.getMessage());
      }
    });
  }

  /** Lists the guest's write to {@code [offset, offset + length)} (synced) before it is made. */
  private void markDirty(long offset, long length) throws IOException {
    if (!streaming || length == 0) {
      return;
    }
    long first = offset >>> DIRTY_SHIFT;
    long end = ((offset + length - 1) >>> DIRTY_SHIFT) + 1;
    synchronized (dirty) {
      if (dirty.nextClearBit((int) first) >= end) {
        return;
      }
      dirtyLog.append(List.of(new StreamLog.Run(index, first, end - first)));
      dirty.set((int) first, (int) end);
    }
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    OutOfRangeException.check(this, offset, dst.remaining());
    if (streaming) {
      int n = dst.remaining();
      ensure(offset, n, true);
      if (n > 0) {
        readAhead(offset, offset + n);
      }
    }
    volume.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    OutOfRangeException.check(this, offset, src.remaining());
    beforeWrite(offset, src.remaining());
    try {
      volume.write(offset, src);
    } finally {
      writes.readLock().unlock();
    }
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    OutOfRangeException.check(this, offset, length);
    beforeWrite(offset, length);
    try {
      volume.writeZeroes(offset, length, mayUnmap);
    } finally {
      writes.readLock().unlock();
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    OutOfRangeException.check(this, offset, length);
    beforeWrite(offset, length);
    try {
      volume.discard(offset, length);
    } finally {
      writes.readLock().unlock();
    }
  }

  /**
   * Takes the write lock shared and, while streaming, fetches the chunks the write touches (a
   * partial write must land on the server's bytes, and the download must never come after it)
   * and lists the write; returns with the lock held.
   */
  private void beforeWrite(long offset, long length) throws IOException {
    writes.readLock().lock();
    boolean ok = false;
    try {
      if (streaming) {
        ensure(offset, length, true);
        markDirty(offset, length);
      }
      ok = true;
    } finally {
      if (!ok) {
        writes.readLock().unlock();
      }
    }
  }

  @Override
  public void flush() throws IOException {
    commit();
  }

  /** Flushes the volume, then lists the chunks that arrived before the flush as durable. */
  void commit() throws IOException {
    synchronized (commit) {
      List<Long> done;
      synchronized (this) {
        done = new ArrayList<>(pending);
        pending.clear();
      }
      boolean ok = false;
      try {
        volume.flush();
        if (streaming) {
          presentLog.append(runs(done));
        }
        ok = true;
      } finally {
        if (!ok) {
          synchronized (this) {
            pending.addAll(done);
          }
        }
      }
    }
  }

  private List<StreamLog.Run> runs(List<Long> done) {
    List<StreamLog.Run> out = new ArrayList<>();
    done.sort(null);
    for (int i = 0; i < done.size(); ) {
      int j = i + 1;
      while (j < done.size() && done.get(j) == done.get(j - 1) + 1) {
        j++;
      }
      out.add(new StreamLog.Run(index, done.get(i), j - i));
      i = j;
    }
    return out;
  }

  /**
   * Ends streaming once every chunk is present: holds the guest's writes, runs {@code atOneInstant}
   * (the base snapshot), and from then on passes everything straight to the volume.
   */
  static void finish(List<StreamingDisk> disks, IoAction atOneInstant) throws IOException {
    List<StreamingDisk> locked = new ArrayList<>();
    try {
      for (StreamingDisk d : disks) {
        d.writes.writeLock().lock();
        locked.add(d);
        if (d.nextAbsent(0) < d.chunks) {
          throw new IllegalStateException(d.what + " still misses chunk " + d.nextAbsent(0));
        }
      }
      atOneInstant.run();
      for (StreamingDisk d : disks) {
        d.streaming = false;
      }
    } finally {
      for (StreamingDisk d : locked) {
        d.writes.writeLock().unlock();
      }
    }
  }

  /** An action that may fail with an I/O error. */
  @FunctionalInterface
  interface IoAction {
    void run() throws IOException;
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    OutOfRangeException.check(this, offset, length);
    if (!streaming) {
      return volume.allocation(offset, length);
    }
    // Chunks not yet here may hold anything: they say DATA, so no client skips them as zeros.
    List<Extent> out = new ArrayList<>();
    long end = offset + length;
    for (long pos = offset; pos < end; ) {
      long c = pos >>> CHUNK_SHIFT;
      boolean here = isPresent(c);
      long runEnd = Math.min(end, (c + 1) << CHUNK_SHIFT);
      while (runEnd < end && isPresent(runEnd >>> CHUNK_SHIFT) == here) {
        runEnd = Math.min(end, runEnd + CHUNK);
      }
      if (here) {
        out.addAll(volume.allocation(pos, runEnd - pos));
      } else {
        out.add(new Extent(pos, runEnd - pos, Extent.Kind.DATA));
      }
      pos = runEnd;
    }
    return out;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  /** Closes nothing: the session owns the volume and the logs. */
  @Override
  public void close() {}

  @Override
  public String toString() {
    return what;
  }
}
