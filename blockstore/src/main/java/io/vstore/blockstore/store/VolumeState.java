package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * One volume and everything it owns: its head map, its snapshots' delta maps, its link to a parent
 * snapshot (linked clone) or to a base map (flattened clone), its records' reference states, its
 * pending change set and counters. Every change to these goes through this class, which also
 * stages its own part of a flush, or through {@link MapChanges} (the changes that move map entries
 * between head, snapshot deltas and references). Lookups are {@link VolumeView}'s and the write path
 * up to the map change {@link VolumeWriter}'s; {@link Volume} handles delegate to them.
 *
 * <p><b>Snapshots.</b> Every map entry carries its birth generation. A snapshot taken at generation
 * {@code g} sees the entries born at or before {@code g} that were alive at {@code g}. The head
 * stays direct: when a write removes part of a head entry that the newest snapshot can see, that
 * part moves into the newest snapshot's delta map; otherwise its blocks are released. A snapshot
 * view looks up its own delta, then the deltas of every newer snapshot, then the head, taking the
 * first entry born at or before its generation; then the base map or the parent snapshot. So head
 * I/O costs the same with 0 or 500 snapshots, and only snapshot views pay for the chain.
 *
 * <p><b>Locking.</b> {@code lock} guards every map, the snapshot list, the parent link, the record
 * states and the change set (shared for reads, exclusive for changes); map changes also hold the
 * datastore's commit lock in shared mode, so a flush sees all or none of a write. Reads of a clone
 * take the parent's lock after their own; writers never hold two volume locks, so this cannot
 * deadlock. The commit lock is always taken before a volume's lock.
 */
final class VolumeState {
  /** The block size in bytes. */
  static final int BLOCK = RecordHeader.BLOCK;

  /** The volume's id, also the id of its head map. */
  final long id;
  /** The volume's name; changed only by {@link #rename}, under the commit lock. */
  volatile String name;
  /** The volume's UUID, which starts its change ids. */
  final UUID uuid;
  /** The size in bytes; changed only by {@link #resize}, under the commit lock. */
  volatile long size;
  /** The size in blocks, rounded up. */
  volatile long blocks;
  /** The head's last space figures and {@link VolumeInfo}, reused while the volume is unchanged. */
  final HeadFigures figures = new HeadFigures();
  /** When the volume was created, ISO-8601. */
  final String created;
  /**
   * Shared for lookups, exclusive for changes; see the class comment. Releasing it exclusively marks
   * the volume for the next flush's staging ({@link CommitPipeline#markDirty}): every change to the
   * maps, record states, change log and catalog entry happens under it.
   */
  final MarkingLock lock;
  /** Whether the volume is in the pipeline's set of volumes to look at; see {@link CommitPipeline#markDirty}. */
  volatile boolean queuedForCommit;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final SegmentUsage usage;
  private final CommitPipeline commits;
  @GuardedBy("lock")
  private final BlockMap head;
  @GuardedBy("lock")
  private final RecordRefs refs;
  private final VolumeView headView;
  private final VolumeWriter writer;
  private final RecordMoves moves;
  private final MapChanges mapChanges;
  /** Snapshots, oldest first. */
  @GuardedBy("lock")
  private final List<SnapshotState> snapshots = new ArrayList<>();
  private final List<SnapshotState> snapshotsView = Collections.unmodifiableList(snapshots);
  /** The snapshot this volume is a linked clone of, or null. */
  @GuardedBy("lock")
  private VolumeState parent;
  @GuardedBy("lock")
  private SnapshotState parentSnapshot;
  /** The parent's content copied up by a flatten, or null. */
  @GuardedBy("lock")
  private BlockMap base;
  /** Blocks changed since the last flush: the next generation's change-log entry. */
  @GuardedBy("lock")
  private final BlockRanges changes = new BlockRanges();
  /** Set when the catalog entry itself changed (parent link, base map). */
  @GuardedBy("lock")
  private boolean recordChanged;
  /**
   * Set while a transplant builds this volume ({@link VolumeTransplant}), else null. Then the
   * generation stands still: writes are born in the mark's {@code birth}, flushes commit the maps
   * without a change-log row or a new generation, and the transplant sets the generation itself.
   */
  @GuardedBy("lock")
  private VolumeRecord.Incoming incoming;
  /** Set by a write born in the incoming mark's birth since {@link #setIncoming} last changed it. */
  @GuardedBy("lock")
  private boolean incomingWritten;
  /**
   * The last generation committed by a flush: changed with the commit lock held exclusively and
   * this volume's lock, read under either, and (for figures) under none.
   */
  private volatile long committedGeneration;
  private final AtomicLong allocated;
  private final AtomicLong mappedBlocks;
  /** Set when the volume is deleted; handles then refuse every call. */
  private volatile boolean deleted;
  /** The interceptor every head write, zeroing and flush goes through, if one is set. */
  final HeadInterception interception = new HeadInterception();
  /** Where every head handle forwards its calls once the volume has moved to another datastore, or null. */
  volatile Volume forward;

  /** Creates the in-memory state of the volume {@code record} describes, its maps loaded on first use. */
  VolumeState(StoreParts parts, VolumeRecord record) {
    this.id = record.id();
    this.name = record.name();
    this.uuid = UUID.fromString(record.uuid());
    this.size = record.size();
    this.blocks = (size + BLOCK - 1) / BLOCK;
    this.created = record.created();
    this.meta = parts.meta();
    this.segments = parts.segments();
    this.usage = parts.usage();
    this.commits = parts.commits();
    this.lock = new MarkingLock(commits, this);
    this.committedGeneration = record.generation();
    this.incoming = record.incoming();
    // Loaded after a restart, a head being copied may hold writes born in the mark's birth: assume so.
    this.incomingWritten = incoming != null && incoming.copyingHead();
    this.allocated = new AtomicLong(record.allocated());
    this.mappedBlocks = new AtomicLong(record.mappedBlocks());
    this.head = new BlockMap(id, meta);
    this.refs = new RecordRefs(meta, parts.records());
    if (record.baseMap() != 0) {
      this.base = new BlockMap(record.baseMap(), meta);
    }
    this.headView = new VolumeView(this, null, segments);
    this.writer = new VolumeWriter(this, parts.usage(), parts.commits());
    this.moves = new RecordMoves(this, parts.commits());
    this.mapChanges = new MapChanges(this, commits, head, refs, snapshots, changes, allocated, mappedBlocks);
  }

  // ---- what others read ----

  /** Returns the view of the head. */
  VolumeView headView() {
    return headView;
  }

  /**
   * Returns the head's {data, unique, shared} bytes ({@link VolumeView#space()}), computed again only
   * when the volume changed since the last call: every change to its maps or snapshots is made under
   * {@link #lock} exclusively, and the parent snapshot a clone reads through never changes. Listing
   * 10,000 volumes resolved every map on every call without this. The array is shared: read it, never change it.
   */
  long[] headSpace() {
    return figures.space(lock, blocks, headView);
  }

  /** Returns the write path of the head. */
  VolumeWriter writer() {
    return writer;
  }

  /** Returns a new view of snapshot {@code snap}. */
  VolumeView view(SnapshotState snap) {
    return new VolumeView(this, snap, segments);
  }

  /** Returns the head map; the caller holds {@code lock}. */
  BlockMap head() {
    return head;
  }

  /** Returns the base map of a flattened clone, or null; the caller holds {@code lock}. */
  BlockMap base() {
    return base;
  }

  /** Returns the volume this is a linked clone of, or null; the caller holds {@code lock}. */
  VolumeState parent() {
    return parent;
  }

  /** Returns the snapshot this is a linked clone of, or null; the caller holds {@code lock}. */
  SnapshotState parentSnapshot() {
    return parentSnapshot;
  }

  /** Returns the snapshots, oldest first, as an unmodifiable live list; the caller holds {@code lock}. */
  List<SnapshotState> snapshots() {
    return snapshotsView;
  }

  /** Returns the newest snapshot, or null; the caller holds {@code lock}. */
  SnapshotState latestSnapshot() {
    return snapshots.isEmpty() ? null : snapshots.getLast();
  }

  /** Returns snapshot {@code snapshotName}, or null; the caller holds {@code lock}. */
  SnapshotState snapshot(String snapshotName) {
    for (SnapshotState s : snapshots) {
      if (s.name().equals(snapshotName)) {
        return s;
      }
    }
    return null;
  }

  /** Returns the block ranges changed since the last flush; the caller holds {@code lock}. */
  List<long[]> unflushedChanges() {
    return changes.list();
  }

  /** Returns the blocks changed since the last flush as the next generation's change-log row, or null if none; the caller holds {@code lock}. */
  byte[] unflushedChangeRow() {
    return changes.isEmpty() ? null : changes.encode();
  }

  /** Returns the last generation a flush committed. */
  long committedGeneration() {
    return committedGeneration;
  }

  /** Returns the bytes the volume's live records take in the segments. */
  long allocatedBytes() {
    return allocated.get();
  }

  /** Returns the number of head blocks that map data. */
  long mappedBlocks() {
    return mappedBlocks.get();
  }

  /** Returns the transplant's mark while one builds this volume, else null; see {@link #incoming}. */
  VolumeRecord.Incoming incoming() {
    lock.readLock().lock();
    try {
      return incoming;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Returns the generation a write made now is born in; the caller holds {@code lock}, or takes what it gets. */
  long nextBirth() {
    VolumeRecord.Incoming mark = incoming;
    return mark != null ? mark.birth() : committedGeneration + 1;
  }

  /** Returns the newest birth the head may hold once committed: the committed generation, or an incoming mark's birth. */
  long newestHeadBirth() {
    VolumeRecord.Incoming mark = incoming;
    return mark != null ? Math.max(committedGeneration, mark.birth()) : committedGeneration;
  }

  /** Returns whether the volume was deleted. */
  boolean isDeleted() {
    return deleted;
  }

  /** Returns every map this volume owns: head, snapshot deltas, base. */
  List<BlockMap> maps() {
    List<BlockMap> out = new ArrayList<>();
    out.add(head);
    for (SnapshotState s : snapshots) {
      out.add(s.delta);
    }
    if (base != null) {
      out.add(base);
    }
    return out;
  }

  /** Returns whether reads can fall through to data below the head, so zeros must be recorded. */
  boolean layered() {
    return parent != null || base != null;
  }

  // ---- catalog changes: while loading, or with the commit lock held exclusively ----

  /** Adds a snapshot in generation order. */
  void addSnapshot(SnapshotState s) {
    lock.writeLock().lock();
    try {
      snapshots.add(s);
      snapshots.sort(Comparator.comparingLong(SnapshotState::generation).thenComparingLong(x -> x.record.id()));
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Links this clone, before anyone else sees it, to snapshot {@code snap} of {@code v}. */
  void linkParent(VolumeState v, SnapshotState snap) {
    lock.writeLock().lock();
    try {
      parent = v;
      parentSnapshot = snap;
      snap.clones.add(this);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Releases every record of this volume and stages the removal of its maps, record states,
   * snapshots, change log and catalog entry; handles on it and its snapshots become unusable. The
   * caller holds the commit lock exclusively, after a flush.
   */
  void delete() throws IOException {
    lock.writeLock().lock();
    try {
      List<BlockMap> maps = maps();
      for (BlockMap m : maps) {
        m.forEach(e -> { // a record referenced twice is dead (no state) the second time
          RecordState state = e.record() == null ? null : refs.get(e.record());
          if (state != null) {
            addLive(e.record().segment(), -state.storedBytes());
            refs.put(e.record(), state.withLive(-state.liveBlocks()));
          }
        });
      }
      commits.stageRefs(refs); // the volume is gone from the next flush's view, its record states are not
      for (BlockMap m : maps) {
        commits.stage(batch -> batch.deleteRange(meta.maps, Keys.pair(m.id(), 0), Keys.pair(m.id() + 1, 0)));
        m.discard();
      }
      for (SnapshotState snap : snapshots) {
        commits.stage(batch -> batch.delete(meta.catalog, Keys.catalog('n', snap.record.id())));
        snap.deleted = true;
      }
      commits.stage(batch -> batch.deleteRange(meta.changes, Keys.pair(id, 0), Keys.pair(id + 1, 0)));
      commits.stage(batch -> batch.delete(meta.catalog, Keys.catalog('v', id)));
      deleted = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- staged commit: with the commit lock held exclusively ----

  /** Returns whether changes wait for the next flush. */
  boolean hasPendingChanges() {
    for (BlockMap m : maps()) {
      if (m.pendingChanges() > 0) {
        return true;
      }
    }
    return recordChanged || refs.pendingChanges() > 0 || !changes.isEmpty();
  }

  /**
   * Adds this volume's pending changes to {@code batch} as its next generation: map and record
   * state changes, the change-log entry and the catalog entry. Nothing is forgotten until
   * {@link #staged}, so a failure here leaves the changes pending.
   */
  void stageCommit(WriteBatch batch) throws IOException, RocksDBException {
    // Shared: writers are held off by the commit lock already; this holds off purges.
    lock.readLock().lock();
    try {
      // An incoming volume's generation stands still: the transplant sets it (see #incoming).
      long generation = incoming != null ? committedGeneration : committedGeneration + 1;
      for (BlockMap m : maps()) {
        m.writeTo(batch);
      }
      refs.writeTo(batch);
      if (incoming == null) {
        ChangeLog.stage(meta, batch, this, generation, changes);
      }
      batch.put(meta.catalog, Keys.catalog('v', id), record(generation).encode());
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Marks the changes {@link #stageCommit} put in the batch as staged in {@code stage} (they stay
   * in the overlays until it is committed) and moves on to the next generation.
   */
  void staged(CommitPipeline.Stage stage) {
    lock.writeLock().lock();
    try {
      for (BlockMap m : maps()) {
        m.staged(stage);
      }
      refs.staged(stage);
      changes.clear();
      recordChanged = false;
      if (incoming == null) {
        committedGeneration++;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Purges the committed changes from the maps' overlays, if the volume's lock is free at once;
   * returns whether it did. The caller holds no lock of this volume, or its exclusive lock.
   */
  boolean purgeCommitted() {
    if (!lock.writeLock().tryLock()) {
      return false;
    }
    try {
      for (BlockMap m : maps()) {
        m.purgeCommitted();
      }
      return true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Sets the size to {@code newSize}; the caller has checked that nothing is mapped past it and
   * that no snapshot shares the volume's size. The catalog entry carries it from the next commit on.
   */
  void resize(long newSize) {
    lock.writeLock().lock();
    try {
      size = newSize;
      blocks = (newSize + BLOCK - 1) / BLOCK;
      recordChanged = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Renames the volume; its catalog entry carries the new name from the next commit on. */
  void rename(String newName) {
    lock.writeLock().lock();
    try {
      name = newName;
      recordChanged = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Returns the catalog entry describing the current (in-memory) state. */
  private VolumeRecord record(long generation) {
    return new VolumeRecord(id, name, uuid.toString(), size, created, generation, allocated.get(), mappedBlocks.get(),
        parent == null ? 0 : parent.id, parentSnapshot == null ? 0 : parentSnapshot.record.id(),
        base == null ? 0 : base.id(), incoming);
  }

  /** Adds {@code delta} to a segment's live bytes, a change towards the next automatic flush. */
  void addLive(long segment, long delta) {
    usage.addLive(segment, delta);
    commits.noteChange();
  }

  // ---- map changes: see MapChanges ----

  /** Returns the changes to the maps that move entries between head, snapshot deltas and references. */
  MapChanges mapChanges() {
    return mapChanges;
  }

  /** Notes that a write is born now: in an incoming mark's birth, if one is set; the caller holds {@code lock}. */
  @GuardedBy("lock")
  void noteBirth() {
    incomingWritten |= incoming != null;
  }

  /** Deletes snapshot {@code s}; see {@link MapChanges#dropSnapshot}. */
  void dropSnapshot(SnapshotState s) throws IOException {
    mapChanges.dropSnapshot(s);
  }

  /** Shares {@code snap}'s blocks {@code [from, to)} into the head; see {@link MapChanges#shareFrom}. */
  void shareFrom(SnapshotState snap, long from, long to) throws IOException {
    mapChanges.shareFrom(snap, from, to);
  }

  /** Puts the head back as the newest snapshot saw it; see {@link MapChanges#rollBackToNewestSnapshot}. */
  void rollBackToNewestSnapshot() throws IOException {
    mapChanges.rollBackToNewestSnapshot();
  }

  // ---- flatten: called with the commit lock held exclusively, after a flush ----

  /** Installs a flattened clone's copied-up content as its base map and drops the parent link. */
  void installBase(BlockMap newBase, List<MapEntry> entries, List<RecordState> states) {
    lock.writeLock().lock();
    try {
      for (int k = 0; k < entries.size(); k++) {
        MapEntry e = entries.get(k);
        newBase.put(e);
        RecordState s = states.get(k);
        if (s != null) {
          refs.put(e.record(), s);
          allocated.addAndGet(s.storedBytes());
          addLive(e.record().segment(), s.storedBytes());
        }
      }
      base = newBase;
      if (parentSnapshot != null) {
        parentSnapshot.clones.remove(this);
      }
      parent = null;
      parentSnapshot = null;
      recordChanged = true;
      commits.noteChange();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- transplant: with the commit lock held exclusively, after a flush ----

  /**
   * Replaces the incoming mark (writes from now on are born in its birth) and sets the generation
   * a flush commits to {@code generation}; returns whether a write was born in the previous mark's
   * birth. The catalog entry carries both from the next commit on.
   */
  boolean setIncoming(VolumeRecord.Incoming mark, long generation) {
    lock.writeLock().lock();
    try {
      assert incoming != null && mark != null && generation >= committedGeneration;
      boolean written = incomingWritten;
      incoming = mark;
      incomingWritten = false;
      committedGeneration = generation;
      recordChanged = true;
      return written;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Returns whether a write was born in the incoming mark's birth since {@link #setIncoming} last set it. */
  boolean writtenSinceMark() {
    lock.readLock().lock();
    try {
      return incomingWritten;
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Ends the transplant in memory once the published catalog entry is committed: the volume takes
   * {@code newName} and generation {@code generation}, and from now on is an ordinary volume; its
   * changes still pending commit with the next flush as its next generation. The caller holds the
   * commit lock exclusively.
   */
  void publish(String newName, long generation) {
    lock.writeLock().lock();
    try {
      assert incoming != null && generation >= committedGeneration;
      incoming = null;
      incomingWritten = false;
      name = newName;
      committedGeneration = generation;
      changes.clear(); // the transplant's own writes: the source's change log says what changed
      // The committed entry has the sizes of the last flush: right while nothing is pending, and
      // rewritten by the next flush when something is.
      recordChanged = false;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Returns the record-moving operations of the cleaner and the defragmenter on this volume. */
  RecordMoves moves() {
    return moves;
  }

  /** Returns the volume's record states; the caller holds {@code lock}. */
  RecordRefs refs() {
    return refs;
  }

  /** Counts {@code bytes} more (or fewer) held by the volume's live records. */
  void addAllocated(long bytes) {
    allocated.addAndGet(bytes);
  }

  @Override
  public String toString() {
    return "volume " + name;
  }
}
