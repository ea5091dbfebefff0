package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The shared state of one open volume: its block map, its records' reference states, its
 * counters, and the read and write paths. {@link Volume} handles delegate here.
 *
 * <p>Locking: {@code lock} guards the map and the record states (shared for reads, exclusive for
 * changes); map changes also hold the datastore's commit lock in shared mode so that a flush sees
 * either all or none of a write's map changes. {@code stripes} serializes writes to the same
 * blocks, which makes the read-modify-write of partial blocks atomic.
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
  final String created;
  final BlockMap map;
  final RecordRefs refs;
  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final StripedLocks stripes = new StripedLocks();
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
    this.created = record.created();
    this.committedGeneration = record.generation();
    this.allocated = new AtomicLong(record.allocated());
    this.mappedBlocks = new AtomicLong(record.mappedBlocks());
    this.map = new BlockMap(id, store.meta());
    this.refs = new RecordRefs(store.meta());
  }

  /** Returns the catalog entry describing the current (in-memory) state. */
  VolumeRecord record(long generation) {
    return new VolumeRecord(id, name, uuid.toString(), size, created, generation, allocated.get(), mappedBlocks.get());
  }

  /** Returns whether changes wait for the next flush. */
  boolean hasPendingChanges() {
    return map.pendingChanges() > 0 || refs.pendingChanges() > 0;
  }

  // ---- reads ----

  void read(long offset, ByteBuffer dst) throws IOException {
    int len = dst.remaining();
    if (len == 0) {
      return;
    }
    if (offset % BLOCK == 0 && len % BLOCK == 0) {
      readBlocks(offset / BLOCK, (offset + len) / BLOCK, dst);
      return;
    }
    long first = offset / BLOCK;
    long end = (offset + len + BLOCK - 1) / BLOCK;
    ByteBuffer span = ByteBuffer.allocate((int) ((end - first) * BLOCK));
    readBlocks(first, end, span);
    dst.put(span.array(), (int) (offset - first * BLOCK), len);
  }

  /** Reads blocks {@code [from, to)} into {@code out}, advancing it. */
  void readBlocks(long from, long to, ByteBuffer out) throws IOException {
    lock.readLock().lock();
    try {
      long pos = from;
      for (MapEntry e : map.overlapping(from, to)) {
        long a = Math.max(e.start(), from);
        long b = Math.min(e.end(), to);
        if (a > pos) {
          zeroFill(out, (a - pos) * BLOCK);
        }
        if (e.kind() == MapEntry.Kind.DATA) {
          RecordHeader header = RecordCodec.readHeader(store.segments(), e.record());
          RecordCodec.readBlocks(store.segments(), e.record(), header, e.recordBlock() + (int) (a - e.start()),
              (int) (b - a), out);
        } else {
          zeroFill(out, (b - a) * BLOCK);
        }
        pos = b;
      }
      if (pos < to) {
        zeroFill(out, (to - pos) * BLOCK);
      }
    } finally {
      lock.readLock().unlock();
    }
  }

  private static void zeroFill(ByteBuffer out, long bytes) {
    while (bytes > 0) {
      int n = (int) Math.min(bytes, ZEROS.capacity());
      out.put(ZEROS.duplicate().limit(n));
      bytes -= n;
    }
  }

  List<Extent> allocation(long offset, long length) throws IOException {
    List<Extent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    long end = offset + length;
    long pos = offset;
    lock.readLock().lock();
    try {
      for (MapEntry e : map.overlapping(offset / BLOCK, (end + BLOCK - 1) / BLOCK)) {
        long a = Math.max(e.start() * BLOCK, offset);
        long b = Math.min(e.end() * BLOCK, end);
        if (a > pos) {
          add(out, new Extent(pos, a - pos, Extent.Kind.HOLE));
        }
        add(out, new Extent(a, b - a, e.kind() == MapEntry.Kind.DATA ? Extent.Kind.DATA : Extent.Kind.ZERO));
        pos = b;
      }
    } finally {
      lock.readLock().unlock();
    }
    if (pos < end) {
      add(out, new Extent(pos, end - pos, Extent.Kind.HOLE));
    }
    return out;
  }

  private static void add(List<Extent> out, Extent e) {
    if (!out.isEmpty()) {
      Extent last = out.getLast();
      if (last.kind() == e.kind() && last.end() == e.offset()) {
        out.set(out.size() - 1, new Extent(last.offset(), last.length() + e.length(), e.kind()));
        return;
      }
    }
    out.add(e);
  }

  // ---- writes ----

  void write(long offset, ByteBuffer src) throws IOException {
    int len = src.remaining();
    if (len == 0) {
      return;
    }
    long first = offset / BLOCK;
    long end = (offset + len + BLOCK - 1) / BLOCK;
    long mask = stripes.lock(first, end);
    try {
      ByteBuffer blocks;
      if (offset % BLOCK == 0 && len % BLOCK == 0) {
        blocks = src.slice();
      } else {
        // Partial blocks: merge the new bytes into the blocks' current content.
        blocks = ByteBuffer.allocate((int) ((end - first) * BLOCK));
        if (offset % BLOCK != 0) {
          readBlocks(first, first + 1, blocks.duplicate());
        }
        if ((offset + len) % BLOCK != 0 && (end - 1 > first || offset % BLOCK == 0)) {
          readBlocks(end - 1, end, blocks.duplicate().position((int) ((end - 1 - first) * BLOCK)));
        }
        blocks.put((int) (offset - first * BLOCK), src, src.position(), len);
      }
      storeBlocks(first, blocks);
      src.position(src.position() + len);
    } finally {
      stripes.unlock(mask);
    }
    store.flushIfLarge();
  }

  /** Stores whole blocks starting at block {@code first}: records for data, nothing for zeros. */
  private void storeBlocks(long first, ByteBuffer blocks) throws IOException {
    int n = blocks.remaining() / BLOCK;
    List<MapEntry> entries = new ArrayList<>();
    List<RecordState> states = new ArrayList<>();
    int i = 0;
    while (i < n) {
      boolean zero = isZero(blocks, i);
      int j = i + 1;
      while (j < n && isZero(blocks, j) == zero && (zero || j - i < RecordHeader.MAX_BLOCKS)) {
        j++;
      }
      if (!zero) {
        ByteBuffer out = RecordCodec.borrow();
        try {
          RecordCodec.encode(blocks.duplicate().position(blocks.position() + i * BLOCK), j - i, id, first + i,
              committedGeneration + 1, out);
          int stored = out.remaining();
          RecordKey key = store.allocate(stored);
          store.segments().write(key, out);
          entries.add(new MapEntry(first + i, j - i, MapEntry.Kind.DATA, key, 0, 0));
          states.add(new RecordState(id, first + i, j - i, stored, j - i));
        } finally {
          RecordCodec.giveBack(out);
        }
      }
      i = j;
    }
    remap(first, first + n, entries, states);
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
      remap(firstWhole, endWhole, List.of(), List.of());
    } finally {
      stripes.unlock(mask);
    }
    store.flushIfLarge();
  }

  /**
   * Replaces whatever maps blocks {@code [from, to)} with {@code entries} (new records described
   * by {@code states}, in the same order), releasing the overwritten parts of older records.
   */
  private void remap(long from, long to, List<MapEntry> entries, List<RecordState> states) throws IOException {
    store.commitLock().readLock().lock();
    lock.writeLock().lock();
    try {
      long generation = committedGeneration + 1;
      for (MapEntry e : map.overlapping(from, to)) {
        map.remove(e.start());
        if (e.start() < from) {
          map.put(e.slice(e.start(), from));
        }
        if (e.end() > to) {
          map.put(e.slice(to, e.end()));
        }
        if (e.kind() == MapEntry.Kind.DATA) {
          release(e.record(), (int) (Math.min(e.end(), to) - Math.max(e.start(), from)));
        }
      }
      for (int k = 0; k < entries.size(); k++) {
        MapEntry e = entries.get(k);
        map.put(new MapEntry(e.start(), e.length(), e.kind(), e.record(), e.recordBlock(), generation));
        if (e.kind() == MapEntry.Kind.DATA) {
          RecordState s = states.get(k);
          refs.put(e.record(), s);
          mappedBlocks.addAndGet(s.blocks());
          allocated.addAndGet(s.storedBytes());
          store.segmentLive(e.record().segment(), s.storedBytes());
        }
      }
    } finally {
      lock.writeLock().unlock();
      store.commitLock().readLock().unlock();
    }
  }

  /** Drops {@code blocks} references to {@code key}; a record left with none is dead space. */
  void release(RecordKey key, int blocks) throws IOException {
    RecordState s = refs.get(key);
    if (s == null || s.liveBlocks() < blocks) {
      throw new CorruptDataException("bad map: volume " + name + " references " + key + " which has "
          + (s == null ? "no state" : s.liveBlocks() + " live blocks, fewer than " + blocks));
    }
    RecordState next = s.withLive(-blocks);
    refs.put(key, next);
    mappedBlocks.addAndGet(-blocks);
    if (next.liveBlocks() == 0) {
      allocated.addAndGet(-s.storedBytes());
      store.segmentLive(key.segment(), -s.storedBytes());
    }
  }

  /**
   * Points every entry that still references {@code from} at {@code to}, a copy of the same record,
   * and returns how many blocks moved (0 when the record died meanwhile). Used by the cleaner.
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
      for (MapEntry e : map.overlapping(state.firstBlock(), state.firstBlock() + state.blocks())) {
        if (from.equals(e.record())) {
          map.put(e.relocated(to));
          moved += e.length();
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
      return moved;
    } finally {
      lock.writeLock().unlock();
      store.commitLock().readLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "volume " + name;
  }
}
