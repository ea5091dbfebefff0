package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.StripedLocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The shared state of one volume: its head map, its snapshots' delta maps, its link to a parent
 * snapshot (linked clone) or to a base map (flattened clone), its records' reference states, its
 * pending change set, and the read and write paths. {@link Volume} handles delegate here.
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
 * deadlock. {@code stripes} serializes writes to the same blocks, making partial-block
 * read-modify-write atomic.
 */
final class VolumeState {
  static final int BLOCK = RecordHeader.BLOCK;
  private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

  final Datastore store;
  final long id;
  final String name;
  final UUID uuid;
  final long size;
  final long blocks;
  final String created;
  final BlockMap head;
  final RecordRefs refs;
  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  // A stripe is 1 MiB of blocks, the largest record, so an aligned record write takes one or two.
  private final StripedLocks stripes = new StripedLocks(256);
  private static final int COMPRESSION_BACKOFF_RECORDS = 8;
  /** Records left to store without trying to compress; approximate across threads by design. */
  private final java.util.concurrent.atomic.AtomicInteger compressionBackoff = new java.util.concurrent.atomic.AtomicInteger();
  /** Snapshots, oldest first; guarded by lock. */
  final List<SnapshotState> snapshots = new ArrayList<>();
  /** The snapshot this volume is a linked clone of, or null; guarded by lock. */
  VolumeState parent;
  SnapshotState parentSnapshot;
  /** The parent's content copied up by a flatten, or null; guarded by lock. */
  BlockMap base;
  /** Blocks changed since the last flush: the next generation's change-log entry; guarded by lock. */
  final BlockRanges changes = new BlockRanges();
  /** Set when the catalog entry itself changed (parent link, base map); guarded by lock. */
  boolean recordChanged;
  /** The last generation committed by a flush; guarded by the datastore's commit lock. */
  long committedGeneration;
  final AtomicLong allocated;
  final AtomicLong mappedBlocks;
  /** Set when the volume is deleted; handles then refuse every call. */
  volatile boolean deleted;

  VolumeState(Datastore store, VolumeRecord record) {
    this.store = store;
    this.id = record.id();
    this.name = record.name();
    this.uuid = UUID.fromString(record.uuid());
    this.size = record.size();
    this.blocks = (size + BLOCK - 1) / BLOCK;
    this.created = record.created();
    this.committedGeneration = record.generation();
    this.allocated = new AtomicLong(record.allocated());
    this.mappedBlocks = new AtomicLong(record.mappedBlocks());
    this.head = new BlockMap(id, store.meta());
    this.refs = new RecordRefs(store.meta(), store.recordTable());
    if (record.baseMap() != 0) {
      this.base = new BlockMap(record.baseMap(), store.meta());
    }
  }

  /** Returns the catalog entry describing the current (in-memory) state. */
  VolumeRecord record(long generation) {
    return new VolumeRecord(id, name, uuid.toString(), size, created, generation, allocated.get(), mappedBlocks.get(),
        parent == null ? 0 : parent.id, parentSnapshot == null ? 0 : parentSnapshot.record.id(),
        base == null ? 0 : base.id());
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

  /** Returns whether changes wait for the next flush. */
  boolean hasPendingChanges() {
    for (BlockMap m : maps()) {
      if (m.pendingChanges() > 0) {
        return true;
      }
    }
    return recordChanged || refs.pendingChanges() > 0 || !changes.isEmpty();
  }

  /** Returns whether reads can fall through to data below the head, so zeros must be recorded. */
  private boolean layered() {
    return parent != null || base != null;
  }

  SnapshotState latestSnapshot() {
    return snapshots.isEmpty() ? null : snapshots.getLast();
  }

  SnapshotState snapshot(String snapshotName) {
    for (SnapshotState s : snapshots) {
      if (s.name().equals(snapshotName)) {
        return s;
      }
    }
    return null;
  }

  /** Adds a snapshot in generation order. */
  void addSnapshot(SnapshotState s) {
    snapshots.add(s);
    snapshots.sort(Comparator.comparingLong(SnapshotState::generation).thenComparingLong(x -> x.record.id()));
  }

  // ---- views ----

  /**
   * A resolved part of a view: blocks {@code [from, to)} map to {@code entry} (already sliced to
   * the part) found in {@code source} of the layer {@code depth} levels down the clone chain (1:
   * the volume itself, 2: its parent, ...), or to nothing (a hole, depth 0) when entry is null.
   */
  record Piece(long from, long to, MapEntry entry, BlockMap source, int depth) {}

  /**
   * Resolves blocks {@code [from, to)} of the view {@code snap} (null: the head), appending the
   * pieces in no particular order. Takes the read lock of this volume and of every ancestor it
   * falls through to, adding them to {@code held}; the caller releases them.
   */
  void resolve(SnapshotState snap, long from, long to, List<Piece> out, List<Lock> held) {
    resolve(snap, from, to, 1, out, held);
  }

  /**
   * Resolves as {@link #resolve(SnapshotState, long, long, List, List)} does, for this volume
   * seen as layer {@code depth} of a clone chain: its own maps (head, snapshot deltas, base) are
   * that layer, its parent the next.
   */
  private void resolve(SnapshotState snap, long from, long to, int depth, List<Piece> out, List<Lock> held) {
    Lock l = lock.readLock();
    l.lock();
    held.add(l);
    List<long[]> gaps = new ArrayList<>();
    gaps.add(new long[] {from, to});
    if (snap == null) {
      gaps = fill(head, Long.MAX_VALUE, depth, gaps, out);
    } else {
      long g = snap.generation();
      for (int i = snapshots.indexOf(snap); i < snapshots.size() && !gaps.isEmpty(); i++) {
        gaps = fill(snapshots.get(i).delta, g, depth, gaps, out);
      }
      if (!gaps.isEmpty()) {
        gaps = fill(head, g, depth, gaps, out);
      }
    }
    if (!gaps.isEmpty() && base != null) {
      // A flattened clone's copy of its parent is part of its own layer, as after qemu-img rebase.
      gaps = fill(base, Long.MAX_VALUE, depth, gaps, out);
    }
    for (long[] gap : gaps) {
      if (parent != null) {
        parent.resolve(parentSnapshot, gap[0], gap[1], depth + 1, out, held);
      } else {
        out.add(new Piece(gap[0], gap[1], null, null, 0));
      }
    }
  }

  /**
   * Covers what it can of {@code gaps} with entries of {@code map} born at or before {@code maxBirth},
   * as pieces of layer {@code depth}.
   */
  private static List<long[]> fill(BlockMap map, long maxBirth, int depth, List<long[]> gaps, List<Piece> out) {
    List<long[]> left = new ArrayList<>();
    for (long[] gap : gaps) {
      long pos = gap[0];
      for (MapEntry e : map.overlapping(gap[0], gap[1])) {
        if (e.generation() > maxBirth) {
          continue; // born after the view: not part of it
        }
        long a = Math.max(e.start(), gap[0]);
        long b = Math.min(e.end(), gap[1]);
        if (a > pos) {
          left.add(new long[] {pos, a});
        }
        out.add(new Piece(a, b, e.slice(a, b), map, depth));
        pos = b;
      }
      if (pos < gap[1]) {
        left.add(new long[] {pos, gap[1]});
      }
    }
    return left;
  }

  private static void unlock(List<Lock> held) {
    for (int i = held.size() - 1; i >= 0; i--) {
      held.get(i).unlock();
    }
  }

  // ---- reads ----

  void read(SnapshotState snap, long offset, ByteBuffer dst) throws IOException {
    int len = dst.remaining();
    if (len == 0) {
      return;
    }
    if (offset % BLOCK == 0 && len % BLOCK == 0) {
      readBlocks(snap, offset / BLOCK, (offset + len) / BLOCK, dst);
      return;
    }
    long first = offset / BLOCK;
    long end = (offset + len + BLOCK - 1) / BLOCK;
    ByteBuffer span = ByteBuffer.allocate((int) ((end - first) * BLOCK));
    readBlocks(snap, first, end, span);
    dst.put(span.array(), (int) (offset - first * BLOCK), len);
  }

  /** Reads blocks {@code [from, to)} of a view into {@code out}, advancing it. */
  void readBlocks(SnapshotState snap, long from, long to, ByteBuffer out) throws IOException {
    List<Lock> held = new ArrayList<>(2);
    try {
      List<Piece> pieces = new ArrayList<>();
      resolve(snap, from, to, pieces, held);
      pieces.sort(Comparator.comparingLong(Piece::from));
      for (Piece p : pieces) {
        MapEntry e = p.entry();
        if (e != null && e.kind() == MapEntry.Kind.DATA) {
          RecordCodec.readBlocks(store.segments(), e.record(), e.recordBlock(), (int) (p.to() - p.from()), out);
        } else {
          zeroFill(out, (p.to() - p.from()) * BLOCK);
        }
      }
    } finally {
      unlock(held);
    }
  }

  /**
   * Plans the read of {@code dst.remaining()} bytes at {@code offset} of a view: one resolution of
   * the maps gives both the file reads and the range's allocation. Returns null when the read
   * cannot be planned (not whole blocks, or segments that are not plain files here); the caller
   * then reads as usual.
   */
  ReadPlan planRead(SnapshotState snap, long offset, ByteBuffer dst, ReadPlan.Scratch scratch) throws IOException {
    int len = dst.remaining();
    if (offset % BLOCK != 0 || len % BLOCK != 0 || !store.segments().nativeReads()) {
      return null;
    }
    ReadPlan plan = new ReadPlan(store.segments(), scratch);
    ExtentList extents = new ExtentList();
    List<Lock> held = new ArrayList<>(2);
    boolean planned = false;
    try {
      List<Piece> pieces = new ArrayList<>();
      resolve(snap, offset / BLOCK, (offset + len) / BLOCK, pieces, held);
      pieces.sort(Comparator.comparingLong(Piece::from));
      ByteBuffer out = dst.duplicate();
      for (Piece p : pieces) {
        MapEntry e = p.entry();
        long bytes = (p.to() - p.from()) * BLOCK;
        if (e != null && e.kind() == MapEntry.Kind.DATA) {
          plan.addRecord(e.record(), e.recordBlock(), (int) (p.to() - p.from()), out);
          extents.add(p.from() * BLOCK, bytes, Extent.Kind.DATA);
        } else {
          zeroFill(out, bytes);
          extents.add(p.from() * BLOCK, bytes, e == null ? Extent.Kind.HOLE : Extent.Kind.ZERO);
        }
      }
      plan.allocation(extents.toList());
      planned = true;
      return plan;
    } finally {
      unlock(held);
      if (!planned) {
        plan.release();
      }
    }
  }

  private static void zeroFill(ByteBuffer out, long bytes) {
    while (bytes > 0) {
      int n = (int) Math.min(bytes, ZEROS.capacity());
      out.put(ZEROS.duplicate().limit(n));
      bytes -= n;
    }
  }

  /** Returns the pieces of the view {@code snap} covering bytes {@code [offset, end)}, in order. */
  private List<Piece> piecesCovering(SnapshotState snap, long offset, long end) {
    List<Piece> pieces = new ArrayList<>();
    List<Lock> held = new ArrayList<>(2);
    try {
      resolve(snap, offset / BLOCK, (end + BLOCK - 1) / BLOCK, pieces, held);
    } finally {
      unlock(held);
    }
    pieces.sort(Comparator.comparingLong(Piece::from));
    return pieces;
  }

  List<Extent> allocation(SnapshotState snap, long offset, long length) {
    ExtentList out = new ExtentList();
    if (length == 0) {
      return out.toList();
    }
    long end = offset + length;
    for (Piece p : piecesCovering(snap, offset, end)) {
      long a = Math.max(p.from() * BLOCK, offset);
      long b = Math.min(p.to() * BLOCK, end);
      Extent.Kind kind = p.entry() == null ? Extent.Kind.HOLE
          : p.entry().kind() == MapEntry.Kind.DATA ? Extent.Kind.DATA : Extent.Kind.ZERO;
      out.add(a, b - a, kind);
    }
    return out.toList();
  }

  /**
   * Returns, for the bytes {@code [offset, offset + length)} of the view {@code snap} (null: the
   * head), the clone-chain layer each run is allocated in, in order, neighbours of equal depth merged.
   */
  List<DepthExtent> allocationDepth(SnapshotState snap, long offset, long length) {
    List<DepthExtent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    long end = offset + length;
    for (Piece p : piecesCovering(snap, offset, end)) {
      long a = Math.max(p.from() * BLOCK, offset);
      long b = Math.min(p.to() * BLOCK, end);
      if (!out.isEmpty() && out.getLast().depth() == p.depth() && out.getLast().end() == a) {
        DepthExtent last = out.removeLast();
        out.add(new DepthExtent(last.offset(), b - last.offset(), p.depth()));
      } else {
        out.add(new DepthExtent(a, b - a, p.depth()));
      }
    }
    return out;
  }

  // ---- writes (head only) ----

  void write(long offset, ByteBuffer src) throws IOException {
    int len = src.remaining();
    if (len == 0) {
      return;
    }
    long first = offset / BLOCK;
    long end = (offset + len + BLOCK - 1) / BLOCK;
    long mask = stripes.lock(first, end);
    try {
      ByteBuffer data;
      if (offset % BLOCK == 0 && len % BLOCK == 0) {
        data = src.slice();
      } else {
        // Partial blocks: merge the new bytes into the blocks' current content.
        data = ByteBuffer.allocate((int) ((end - first) * BLOCK));
        if (offset % BLOCK != 0) {
          readBlocks(null, first, first + 1, data.duplicate());
        }
        if ((offset + len) % BLOCK != 0 && (end - 1 > first || offset % BLOCK == 0)) {
          readBlocks(null, end - 1, end, data.duplicate().position((int) ((end - 1 - first) * BLOCK)));
        }
        data.put((int) (offset - first * BLOCK), src, src.position(), len);
      }
      List<MapEntry> entries = new ArrayList<>();
      List<RecordState> states = new ArrayList<>();
      try {
        encode(first, data, layered(), committedGeneration + 1, entries, states);
        remap(first, first + (data.remaining() / BLOCK), entries, states);
      } finally {
        store.published(entries); // in the map now, or never: the cleaner may have their segments
      }
      src.position(src.position() + len);
    } finally {
      stripes.unlock(mask);
    }
    store.flushIfLarge();
  }

  /**
   * Encodes whole blocks starting at block {@code first} into records appended to the segments,
   * describing them as map entries (DATA, and ZERO for zero runs when {@code zeroEntries}) with
   * the matching new record states (null for ZERO entries).
   */
  void encode(long first, ByteBuffer data, boolean zeroEntries, long generation, List<MapEntry> entries,
      List<RecordState> states) throws IOException {
    int n = data.remaining() / BLOCK;
    int i = 0;
    while (i < n) {
      boolean zero = isZero(data, i);
      int j = i + 1;
      while (j < n && isZero(data, j) == zero && (zero || j - i < RecordHeader.MAX_BLOCKS)) {
        j++;
      }
      if (!zero) {
        ByteBuffer out = RecordCodec.borrow();
        try {
          // Early abort for small records, as ZFS does: after one that would not compress
          // (encrypted or already compressed data), store the next few as they are, then try
          // again. Larger records decide chunk by chunk, so mixed data still compresses.
          boolean small = j - i <= RecordHeader.CHUNK_BLOCKS;
          boolean attempt = !small || compressionBackoff.get() <= 0 || compressionBackoff.decrementAndGet() < 0;
          int shrunk = RecordCodec.encode(data.duplicate().position(data.position() + i * BLOCK), j - i, id, first + i,
              generation, out, attempt);
          if (small && attempt) {
            compressionBackoff.set(shrunk == 0 ? COMPRESSION_BACKOFF_RECORDS : 0);
          }
          int stored = out.remaining();
          RecordKey key = store.append(out);
          entries.add(new MapEntry(first + i, j - i, MapEntry.Kind.DATA, key, 0, generation));
          states.add(new RecordState(id, first + i, j - i, stored, j - i));
        } finally {
          RecordCodec.giveBack(out);
        }
      } else if (zeroEntries) {
        entries.add(new MapEntry(first + i, j - i, MapEntry.Kind.ZERO, null, 0, generation));
        states.add(null);
      }
      i = j;
    }
  }

  private static boolean isZero(ByteBuffer blocks, int block) {
    int at = blocks.position() + block * BLOCK;
    return blocks.slice(at, BLOCK).mismatch(ZERO_BLOCK) < 0;
  }

  /** Makes {@code [offset, offset + length)} read as zeros, releasing whole blocks. */
  void zero(long offset, long length) throws IOException {
    if (length == 0) {
      return;
    }
    long end = offset + length;
    long firstWhole = (offset + BLOCK - 1) / BLOCK;
    long endWhole = end / BLOCK;
    if (firstWhole >= endWhole) {
      write(offset, ByteBuffer.allocate((int) length));
      return;
    }
    if (offset < firstWhole * BLOCK) {
      write(offset, ByteBuffer.allocate((int) (firstWhole * BLOCK - offset)));
    }
    if (endWhole * BLOCK < end) {
      write(endWhole * BLOCK, ByteBuffer.allocate((int) (end - endWhole * BLOCK)));
    }
    long mask = stripes.lock(firstWhole, endWhole);
    try {
      List<MapEntry> entries = new ArrayList<>();
      List<RecordState> states = new ArrayList<>();
      if (layered()) {
        // A clone must hide its parent's data behind explicit zero entries.
        for (long b = firstWhole; b < endWhole; b += 1 << 20) {
          entries.add(new MapEntry(b, (int) Math.min(1 << 20, endWhole - b), MapEntry.Kind.ZERO, null, 0, 0));
          states.add(null);
        }
      }
      remap(firstWhole, endWhole, entries, states);
    } finally {
      stripes.unlock(mask);
    }
    store.flushIfLarge();
  }

  /**
   * Replaces whatever the head maps at blocks {@code [from, to)} with {@code entries} (new records
   * described by {@code states}, in the same order; null for ZERO entries). The parts of older
   * entries that leave the head move to the newest snapshot if it can see them, else are released.
   */
  private void remap(long from, long to, List<MapEntry> entries, List<RecordState> states) throws IOException {
    store.commitLock().readLock().lock();
    lock.writeLock().lock();
    try {
      long generation = committedGeneration + 1;
      for (MapEntry e : head.overlapping(from, to)) {
        head.remove(e);
        if (e.start() < from) {
          head.put(e.slice(e.start(), from));
        }
        if (e.end() > to) {
          head.put(e.slice(to, e.end()));
        }
        leaveHead(e.slice(Math.max(e.start(), from), Math.min(e.end(), to)));
      }
      for (int k = 0; k < entries.size(); k++) {
        MapEntry e = entries.get(k);
        head.put(new MapEntry(e.start(), e.length(), e.kind(), e.record(), e.recordBlock(), generation));
        RecordState s = states.get(k);
        if (s != null) {
          refs.put(e.record(), s);
          mappedBlocks.addAndGet(e.length());
          allocated.addAndGet(s.storedBytes());
          store.segmentLive(e.record().segment(), s.storedBytes());
        }
      }
      changes.add(from, to);
      store.noteChange();
    } finally {
      lock.writeLock().unlock();
      store.commitLock().readLock().unlock();
    }
  }

  /** Handles a part of an entry that left the head: kept for the newest snapshot, or released. */
  private void leaveHead(MapEntry part) throws IOException {
    if (part.kind() == MapEntry.Kind.DATA) {
      mappedBlocks.addAndGet(-part.length());
    }
    SnapshotState latest = latestSnapshot();
    if (latest != null && part.generation() <= latest.generation()) {
      latest.delta.put(part);
    } else if (part.kind() == MapEntry.Kind.DATA) {
      release(part.record(), part.length());
    }
  }

  /** Adds {@code blocks} references to {@code key}. */
  private void reference(RecordKey key, int blockCount) throws IOException {
    RecordState s = refs.get(key);
    if (s == null) {
      throw new CorruptDataException("bad map: volume " + name + " references " + key + " which has no state");
    }
    refs.put(key, s.withLive(blockCount));
  }

  /** Drops {@code blocks} references to {@code key}; a record left with none is dead space. */
  void release(RecordKey key, int blockCount) throws IOException {
    RecordState s = refs.get(key);
    if (s == null || s.liveBlocks() < blockCount) {
      throw new CorruptDataException("bad map: volume " + name + " references " + key + " which has "
          + (s == null ? "no state" : s.liveBlocks() + " references, fewer than " + blockCount));
    }
    RecordState next = s.withLive(-blockCount);
    refs.put(key, next);
    if (next.liveBlocks() == 0) {
      allocated.addAndGet(-s.storedBytes());
      store.segmentLive(key.segment(), -s.storedBytes());
    }
  }

  // ---- snapshot, revert, flatten: called with the commit lock held exclusively, after a flush ----

  /** Deletes snapshot {@code s}: what an older snapshot still sees moves to it, the rest is released. */
  void dropSnapshot(SnapshotState s) throws IOException {
    lock.writeLock().lock();
    try {
      int i = snapshots.indexOf(s);
      SnapshotState previous = i > 0 ? snapshots.get(i - 1) : null;
      for (MapEntry e : s.delta.overlapping(0, blocks)) {
        if (previous != null && e.generation() <= previous.generation()) {
          previous.delta.put(e);
        } else if (e.kind() == MapEntry.Kind.DATA) {
          release(e.record(), e.length());
        }
      }
      snapshots.remove(i);
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Makes the head what snapshot {@code s} sees; the undone blocks go to the change set. */
  void revertTo(SnapshotState s) throws IOException {
    lock.writeLock().lock();
    try {
      long generation = committedGeneration + 1;
      for (MapEntry e : head.overlapping(0, blocks)) {
        if (e.generation() > s.generation()) {
          head.remove(e);
          leaveHead(e);
          changes.add(e.start(), e.end());
        }
      }
      for (int i = snapshots.indexOf(s); i < snapshots.size(); i++) {
        for (MapEntry e : snapshots.get(i).delta.overlapping(0, blocks)) {
          if (e.generation() > s.generation()) {
            continue;
          }
          // A copy born now: the original stays where older views find it, and newer snapshots,
          // which must not see it, skip the copy because it is born after them.
          head.put(new MapEntry(e.start(), e.length(), e.kind(), e.record(), e.recordBlock(), generation));
          if (e.kind() == MapEntry.Kind.DATA) {
            reference(e.record(), e.length());
            mappedBlocks.addAndGet(e.length());
          }
          changes.add(e.start(), e.end());
        }
      }
      store.noteChange();
    } finally {
      lock.writeLock().unlock();
    }
  }

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
          store.segmentLive(e.record().segment(), s.storedBytes());
        }
      }
      base = newBase;
      parent = null;
      parentSnapshot = null;
      recordChanged = true;
      store.noteChange();
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Points every entry that still references {@code from} at {@code to}, a copy of the same record,
   * and returns how many block references moved (0 when the record died meanwhile). Used by the cleaner.
   */
  int relocate(RecordKey from, RecordKey to, RecordState state) throws IOException {
    store.commitLock().readLock().lock();
    lock.writeLock().lock();
    try {
      RecordState current = refs.get(from);
      if (current == null || current.liveBlocks() == 0) {
        return 0;
      }
      int moved = 0;
      for (BlockMap m : maps()) {
        for (MapEntry e : m.overlapping(state.firstBlock(), state.firstBlock() + state.blocks())) {
          if (from.equals(e.record())) {
            m.put(e.relocated(to));
            moved += e.length();
          }
        }
      }
      if (moved != current.liveBlocks()) {
        throw new CorruptDataException("bad map: volume " + name + " references " + moved + " blocks of " + from
            + " but its state counts " + current.liveBlocks());
      }
      refs.put(from, current.withLive(-moved));
      refs.put(to, new RecordState(id, current.firstBlock(), current.blocks(), current.storedBytes(), moved));
      store.segmentLive(from.segment(), -current.storedBytes());
      store.segmentLive(to.segment(), current.storedBytes());
      store.noteChange();
      return moved;
    } finally {
      lock.writeLock().unlock();
      store.commitLock().readLock().unlock();
    }
  }

  // ---- space figures ----

  /**
   * Returns {data, unique, shared} in bytes for the view {@code snap} (null: the head): data the
   * view reads, the part only it references, and the rest (shared with snapshots, the head or a
   * parent).
   */
  long[] space(SnapshotState snap) {
    List<Piece> pieces = new ArrayList<>();
    List<Lock> held = new ArrayList<>(2);
    try {
      resolve(snap, 0, blocks, pieces, held);
      long data = 0;
      long unique = 0;
      SnapshotState latest = latestSnapshot();
      int index = snap == null ? -1 : snapshots.indexOf(snap);
      SnapshotState previous = index > 0 ? snapshots.get(index - 1) : null;
      for (Piece p : pieces) {
        if (p.entry() == null || p.entry().kind() != MapEntry.Kind.DATA) {
          continue;
        }
        long n = p.to() - p.from();
        data += n;
        long birth = p.entry().generation();
        boolean only = snap == null
            ? p.source() == head && (latest == null || birth > latest.generation())
            : p.source() == snap.delta && (previous == null || birth > previous.generation());
        if (only) {
          unique += n;
        }
      }
      return new long[] {data * BLOCK, unique * BLOCK, (data - unique) * BLOCK};
    } finally {
      unlock(held);
    }
  }

  @Override
  public String toString() {
    return "volume " + name;
  }
}
