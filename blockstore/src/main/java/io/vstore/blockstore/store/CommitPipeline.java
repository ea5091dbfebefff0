package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * How a datastore's in-memory changes become durable. Map changes hold the commit lock shared; a
 * flush takes it exclusively just long enough to stage every pending change (each volume stages
 * its own, then the queued catalog changes and the segments' live bytes) into one RocksDB batch
 * and take a ticket. It then syncs the segments and commits the batch outside the lock, in ticket
 * order ({@link CommitOrder}), so writers go on while the disk works. Also counts the changes that
 * trigger automatic flushes ({@link BackgroundFlusher}) and hands out volume and map ids.
 */
final class CommitPipeline {
  private static final long COUNTER_NEXT_SEGMENT = 0;
  private static final long COUNTER_NEXT_VOLUME = 1;

  private final Object owner;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final SegmentUsage usage;
  private final RecordTable records;
  /** Volumes whose committed changes could not be purged at once (their lock was busy). */
  private final Set<VolumeState> purgeLater = ConcurrentHashMap.newKeySet();
  /**
   * The volumes changed since they were last staged (marked as they release their exclusive lock,
   * see {@link VolumeState#lock}): a flush stages these, not every volume of the datastore, so its
   * cost does not grow with the number of volumes.
   */
  private final Set<VolumeState> dirty = ConcurrentHashMap.newKeySet();
  private final long flushThreshold;
  /** Taken shared by every map change and exclusively by flush, volume deletion and check. */
  private final ReentrantReadWriteLock commitLock = new ReentrantReadWriteLock();
  private final CommitOrder order = new CommitOrder();
  /** Map changes since the last staged flush, counted towards the next automatic one. */
  private final AtomicLong pendingChanges = new AtomicLong();
  private final BackgroundFlusher flusher;
  /** Record states of deleted volumes, queued for the next batch. */
  @GuardedBy("commitLock")
  private final List<RecordRefs> pendingRefs = new ArrayList<>();
  /** Catalog changes queued for the next batch. */
  @GuardedBy("commitLock")
  private final List<CatalogOp> pendingOps = new ArrayList<>();
  @GuardedBy("commitLock")
  private long nextId;
  /** The next-segment counter in the newest staged batch. */
  @GuardedBy("commitLock")
  private long stagedNextSegment;
  private volatile boolean open = true;

  /**
   * Creates the pipeline of {@code owner} (named in messages), which stages the changes of the
   * volumes {@linkplain #markDirty marked} since their last commit and of {@code usage}.
   */
  CommitPipeline(Object owner, MetaStore meta, SegmentFiles segments, SegmentUsage usage, long flushThreshold)
      throws IOException {
    this.owner = owner;
    this.meta = meta;
    this.segments = segments;
    this.usage = usage;
    this.records = new RecordTable(meta);
    this.flushThreshold = flushThreshold;
    this.nextId = Math.max(1, counter(meta, COUNTER_NEXT_VOLUME));
    this.stagedNextSegment = counter(meta, COUNTER_NEXT_SEGMENT);
    this.flusher = new BackgroundFlusher(this, owner);
  }

  /** Returns the first segment id a datastore opened on {@code meta} may use. */
  static long nextSegment(MetaStore meta) throws IOException {
    return Math.max(1, counter(meta, COUNTER_NEXT_SEGMENT));
  }

  private static long counter(MetaStore m, long which) throws IOException {
    byte[] v = m.get(m.catalog, Keys.catalog('c', which));
    return v == null ? 0 : Keys.catalogLong(v);
  }

  /** A catalog change to commit with the next flush's batch. */
  @FunctionalInterface
  interface CatalogOp {
    /** Adds the change to {@code batch}. */
    void stage(WriteBatch batch) throws RocksDBException;
  }

  /** Returns the record states of the datastore, whose committed changes each commit purges. */
  RecordTable records() {
    return records;
  }

  /** Returns the commit lock: shared for map changes, exclusive to stage a flush or change the catalog. */
  ReentrantReadWriteLock lock() {
    return commitLock;
  }

  /** Starts the background flusher. */
  void start() {
    flusher.start();
  }

  /** Stops the background flusher after the flush it may be running. */
  void stopFlusher() {
    flusher.stop();
  }

  /** Holds off background flushes (see {@link BackgroundFlusher#pause}). */
  void pauseFlusher() {
    flusher.pause();
  }

  /** Ends one {@link #pauseFlusher}. */
  void resumeFlusher() {
    flusher.resume();
  }

  /** Returns whether the datastore is still open. */
  boolean isOpen() {
    return open;
  }

  /** Throws unless the datastore is open. */
  void checkOpen() {
    if (!open) {
      throw new AlreadyClosedException(owner);
    }
  }

  /** Marks the datastore closed: flushes after this fail. The caller holds the commit lock exclusively. */
  void markClosed() {
    assert commitLock.isWriteLockedByCurrentThread();
    open = false;
  }

  /** Throws if a commit has failed: memory is then ahead of the disk until the datastore reopens. */
  void checkHealthy() throws IOException {
    order.checkHealthy();
  }

  /** Queues {@code op} for the next flush; the caller holds the commit lock exclusively. */
  void stage(CatalogOp op) {
    assert commitLock.isWriteLockedByCurrentThread();
    pendingOps.add(op);
  }

  /**
   * Queues the pending record-state changes of {@code refs}, a volume being deleted (which no
   * later flush stages), for the next batch; the caller holds the commit lock exclusively.
   */
  void stageRefs(RecordRefs refs) {
    assert commitLock.isWriteLockedByCurrentThread();
    pendingRefs.add(refs);
  }

  /** Returns a fresh id for a volume or a map; the caller holds the commit lock exclusively. */
  long newId() {
    assert commitLock.isWriteLockedByCurrentThread();
    long id = nextId++;
    long next = nextId;
    pendingOps.add(batch -> batch.put(meta.catalog, Keys.catalog('c', COUNTER_NEXT_VOLUME), Keys.catalogLong(next)));
    return id;
  }

  /** Records that volume {@code v} may have changes to stage: the next flush looks at it. */
  void markDirty(VolumeState v) {
    if (!v.queuedForCommit) {
      v.queuedForCommit = true;
      dirty.add(v);
    }
  }

  /** Returns the changes counted towards the next automatic flush. */
  long pendingChangeCount() {
    return pendingChanges.get();
  }

  /** Counts a map change towards the next automatic flush. */
  void noteChange() {
    pendingChanges.incrementAndGet();
  }

  /**
   * Flushes when enough changes are pending, so that memory and the work a crash loses stay
   * bounded: in the background at the threshold, by the writer itself at twice the threshold.
   */
  void flushIfLarge() throws IOException {
    long pending = pendingChanges.get();
    if (pending >= 2L * flushThreshold) {
      flush();
    } else if (pending >= flushThreshold) {
      flusher.request();
    }
    order.checkHealthy();
  }

  /** Makes every completed change durable. */
  void flush() throws IOException {
    StagedCommit staged;
    commitLock.writeLock().lock();
    try {
      checkOpen();
      staged = stageCommit();
    } finally {
      commitLock.writeLock().unlock();
    }
    // Writers go on while the segments sync and the batch commits.
    completeCommit(staged);
  }

  /** Flushes with the commit lock held exclusively, returning once the commit is durable. */
  void flushLocked() throws IOException {
    assert commitLock.isWriteLockedByCurrentThread();
    completeCommit(stageCommit());
  }

  /**
   * A batch staged by {@link #stageUnsyncedLocked} with its place in the commit order, written by
   * {@link #writeUnsynced}.
   */
  static final class UnsyncedCommit {
    private final long ticket;
    private final WriteBatch batch;

    private UnsyncedCommit(long ticket, WriteBatch batch) {
      this.ticket = ticket;
      this.batch = batch;
    }
  }

  /**
   * Stages {@code op}'s changes alone as the next commit, after every batch staged so far; other
   * pending changes stay pending. For catalog changes that point at no segment bytes and must not
   * wait for a sync, nor for the write itself: {@link #writeUnsynced} writes it later, once the
   * caller has let its lock go, and every commit staged after waits for that (so no flush can make
   * later changes durable without it; the next synced commit makes it durable). The caller holds
   * the commit lock exclusively and must write the result, or the commits after it never end.
   */
  UnsyncedCommit stageUnsyncedLocked(CatalogOp op) throws IOException {
    assert commitLock.isWriteLockedByCurrentThread();
    order.checkHealthy();
    WriteBatch batch = new WriteBatch();
    try {
      op.stage(batch);
    } catch (RocksDBException | RuntimeException e) {
      batch.close();
      throw new IOException("cannot stage commit of " + owner + ": " + e.getMessage(), e);
    }
    return new UnsyncedCommit(order.issue(), batch);
  }

  /** Writes {@code commit} to the log, not synced, in its turn; no lock needed. */
  void writeUnsynced(UnsyncedCommit commit) throws IOException {
    try (WriteBatch batch = commit.batch) {
      order.awaitTurn(commit.ticket);
      meta.commitUnsynced(batch);
      order.committed(commit.ticket);
    } catch (IOException | RuntimeException e) {
      IOException failure = e instanceof IOException io ? io : new IOException("commit of " + owner + " failed: " + e, e);
      order.failed(failure);
      throw failure;
    }
  }

  /** Makes every commit so far durable with one synced commit, even when nothing is pending. */
  void syncCatalog() throws IOException {
    commitLock.writeLock().lock();
    try {
      checkOpen();
      pendingOps.add(batch -> {}); // a batch is written, and synced, even with nothing else to stage
    } finally {
      commitLock.writeLock().unlock();
    }
    flush();
  }

  /** Waits until every flush staged so far is committed; with the commit lock held, none can start. */
  void awaitCommitted() throws IOException {
    order.awaitCommitted(order.newest());
  }

  /**
   * One flush's batch as the changes it holds know it: they stay in their maps' and the record
   * table's overlays until it is committed, and are purged from them after.
   */
  static final class Stage {
    private volatile boolean committed;

    /** Returns whether the batch is committed to RocksDB. */
    boolean isCommitted() {
      return committed;
    }

    /** Records that the batch is committed to RocksDB. */
    void markCommitted() {
      committed = true;
    }
  }

  /**
   * A flush's metadata changes, staged in memory: {@code batch} (null when nothing changed) commits
   * as ticket {@code ticket}; with no batch, the flush waits for {@code ticket}, the newest one.
   * {@code volumes} are the volumes whose changes it holds.
   */
  private record StagedCommit(long ticket, WriteBatch batch, Stage stage, List<VolumeState> volumes) {}

  /**
   * Moves every pending change into a batch and takes its ticket; the caller holds the commit
   * lock exclusively, so the batch holds all or none of each write.
   */
  @GuardedBy("commitLock")
  private StagedCommit stageCommit() throws IOException {
    order.checkHealthy();
    List<VolumeState> changed = new ArrayList<>();
    for (Iterator<VolumeState> it = dirty.iterator(); it.hasNext(); ) {
      VolumeState v = it.next();
      it.remove();
      // Cleared before looking: a change made after this is marked again (see markDirty).
      v.queuedForCommit = false;
      if (!v.isDeleted() && v.hasPendingChanges()) {
        changed.add(v);
      }
    }
    long nextSegment = segments.nextId();
    if (changed.isEmpty() && pendingChanges.get() == 0 && pendingOps.isEmpty() && stagedNextSegment == nextSegment) {
      return new StagedCommit(order.newest(), null, null, List.of());
    }
    WriteBatch batch = new WriteBatch();
    try {
      for (VolumeState v : changed) {
        v.stageCommit(batch);
      }
      for (RecordRefs r : pendingRefs) {
        r.writeTo(batch);
      }
      for (CatalogOp op : pendingOps) {
        op.stage(batch);
      }
      usage.writeTo(batch, meta);
      batch.put(meta.catalog, Keys.catalog('c', COUNTER_NEXT_SEGMENT), Keys.catalogLong(nextSegment));
    } catch (RocksDBException | IOException | RuntimeException e) {
      batch.close();
      changed.forEach(this::markDirty); // still pending: the next flush must see them
      IOException failure = e instanceof IOException io ? io
          : new IOException("cannot stage commit of " + owner + ": " + e.getMessage(), e);
      order.failed(failure);
      throw failure;
    }
    Stage stage = new Stage();
    for (VolumeState v : changed) {
      v.staged(stage);
    }
    for (RecordRefs r : pendingRefs) {
      r.staged(stage);
    }
    pendingRefs.clear();
    pendingOps.clear();
    pendingChanges.set(0);
    stagedNextSegment = nextSegment;
    return new StagedCommit(order.issue(), batch, stage, changed);
  }

  /**
   * Makes a staged commit durable: the segment bytes its entries point at first, then the batch,
   * after every earlier batch. Returns once it and every earlier commit are durable.
   */
  private void completeCommit(StagedCommit staged) throws IOException {
    if (staged.batch() == null) {
      order.awaitCommitted(staged.ticket());
      return;
    }
    try (WriteBatch batch = staged.batch()) {
      segments.sync();
      order.awaitTurn(staged.ticket());
      meta.commit(batch);
      staged.stage().markCommitted();
      order.committed(staged.ticket());
    } catch (IOException | RuntimeException e) {
      IOException failure = e instanceof IOException io ? io : new IOException("commit of " + owner + " failed: " + e, e);
      order.failed(failure);
      throw failure;
    }
    purge(staged.volumes());
  }

  /**
   * Purges committed changes from the overlays: the record table's, and those of {@code volumes}
   * and of the volumes left over from earlier purges. A volume whose lock is busy waits for the
   * next commit; its overlay stays correct meanwhile, only larger.
   */
  private void purge(List<VolumeState> volumes) {
    records.purgeCommitted();
    purgeLater.addAll(volumes);
    for (java.util.Iterator<VolumeState> it = purgeLater.iterator(); it.hasNext(); ) {
      VolumeState v = it.next();
      if (v.isDeleted() || v.purgeCommitted()) {
        it.remove();
      }
    }
  }
}
