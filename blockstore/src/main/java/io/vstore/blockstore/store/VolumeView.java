package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.crypto.PartBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.locks.Lock;

/**
 * What a volume's head or one of its snapshots reads, looked up through its maps and its clone
 * chain: data, read plans, allocation, allocation depth and space figures. Changes nothing.
 *
 * <p>A snapshot view looks up its own delta, then the deltas of every newer snapshot, then the
 * head, taking the first entry born at or before its generation; then the base map or the parent
 * snapshot (see {@link VolumeState}). Lookups take the read lock of the volume and of every
 * ancestor they fall through to, child first.
 */
final class VolumeView {
  private static final int BLOCK = VolumeState.BLOCK;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

  private final VolumeState volume;
  private final SnapshotState snapshot;
  private final SegmentFiles segments;

  /** Creates the view of {@code volume}'s snapshot {@code snapshot}, or of its head when null. */
  VolumeView(VolumeState volume, SnapshotState snapshot, SegmentFiles segments) {
    this.volume = volume;
    this.snapshot = snapshot;
    this.segments = segments;
  }

  /**
   * A resolved part of a view: blocks {@code [from, to)} map to {@code entry} (already sliced to
   * the part) found in {@code source} of the layer {@code depth} levels down the clone chain (1:
   * the volume itself, 2: its parent, ...), or to nothing (a hole, depth 0) when entry is null.
   */
  record Piece(long from, long to, MapEntry entry, BlockMap source, int depth) {}

  /**
   * Resolves blocks {@code [from, to)} of the view {@code snap} (null: the head) of {@code v},
   * seen as layer {@code depth} of a clone chain, appending the pieces in no particular order. Its
   * own maps (head, snapshot deltas, base) are that layer, its parent the next. Takes the read
   * lock of {@code v} and of every ancestor it falls through to, adding them to {@code held}; the
   * caller releases them.
   */
  private static void resolve(VolumeState v, SnapshotState snap, long from, long to, int depth, List<Piece> out,
      List<Lock> held) {
    Lock l = v.lock.readLock();
    l.lock();
    held.add(l);
    List<long[]> gaps = new ArrayList<>();
    gaps.add(new long[] {from, to});
    if (snap == null) {
      gaps = fill(v.head(), Long.MAX_VALUE, depth, gaps, out);
    } else {
      long g = snap.generation();
      List<SnapshotState> snapshots = v.snapshots();
      for (int i = snapshots.indexOf(snap); i < snapshots.size() && !gaps.isEmpty(); i++) {
        gaps = fill(snapshots.get(i).delta, g, depth, gaps, out);
      }
      if (!gaps.isEmpty()) {
        gaps = fill(v.head(), g, depth, gaps, out);
      }
    }
    BlockMap base = v.base();
    if (!gaps.isEmpty() && base != null) {
      // A flattened clone's copy of its parent is part of its own layer, as after qemu-img rebase.
      gaps = fill(base, Long.MAX_VALUE, depth, gaps, out);
    }
    VolumeState parent = v.parent();
    for (long[] gap : gaps) {
      if (parent != null) {
        resolve(parent, v.parentSnapshot(), gap[0], gap[1], depth + 1, out, held);
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

  /**
   * Joins neighbouring DATA pieces (sorted by start) that continue each other in one record, so
   * that a range written back in order reads as one piece however many map entries (of different
   * generations) point into it.
   */
  private static List<Piece> joined(List<Piece> sorted) {
    List<Piece> out = new ArrayList<>(sorted.size());
    for (Piece p : sorted) {
      Piece last = out.isEmpty() ? null : out.getLast();
      MapEntry a = last == null ? null : last.entry();
      MapEntry b = p.entry();
      if (a != null && b != null && a.kind() == MapEntry.Kind.DATA && b.kind() == MapEntry.Kind.DATA
          && last.to() == p.from() && a.record().equals(b.record())
          && (long) a.recordBlock() + (last.to() - last.from()) == b.recordBlock()) {
        MapEntry both = new MapEntry(last.from(), (int) (p.to() - last.from()), MapEntry.Kind.DATA, a.record(),
            a.recordBlock(), a.generation());
        out.set(out.size() - 1, new Piece(last.from(), p.to(), both, last.source(), last.depth()));
      } else {
        out.add(p);
      }
    }
    return out;
  }

  private static void unlock(List<Lock> held) {
    for (int i = held.size() - 1; i >= 0; i--) {
      held.get(i).unlock();
    }
  }

  /** Reads {@code dst.remaining()} bytes at byte {@code offset} into {@code dst}, advancing it. */
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

  /**
   * Returns the id of the volume whose maps form layer {@code depth} of this view's clone chain (1:
   * this volume): the volume that wrote every record those maps reference, which a sealed record's
   * parts are opened with, so that a map entry pointed at another volume's record fails to open.
   */
  private long layerVolume(int depth) {
    VolumeState v = volume;
    for (int i = 1; i < depth; i++) {
      v = v.parent();
    }
    return v.id;
  }

  /** Reads blocks {@code [from, to)} into {@code out}, advancing it. */
  void readBlocks(long from, long to, ByteBuffer out) throws IOException {
    // A large read of an encrypted datastore opens its sealed blocks after reading them all, on every core.
    PartBatch batch = segments.sealer() != null && to - from >= PartBatch.PARALLEL_PARTS
        ? new PartBatch(segments.sealer(), (int) (to - from)) : null;
    boolean read = false;
    List<Lock> held = new ArrayList<>(2);
    try {
      List<Piece> pieces = new ArrayList<>();
      resolve(volume, snapshot, from, to, 1, pieces, held);
      pieces.sort(Comparator.comparingLong(Piece::from));
      for (Piece p : joined(pieces)) {
        MapEntry e = p.entry();
        if (e != null && e.kind() == MapEntry.Kind.DATA) {
          RecordCodec.readBlocks(segments, e.record(), layerVolume(p.depth()), e.start() - e.recordBlock(), e.recordBlock(),
              (int) (p.to() - p.from()), out, batch);
        } else {
          zeroFill(out, (p.to() - p.from()) * BLOCK);
        }
      }
      read = true;
    } finally {
      unlock(held);
      if (batch != null && !read) {
        batch.abandon(); // no helper may still write into out once this throws
      }
    }
    if (batch != null) {
      RecordCodec.openAll(segments, batch); // the ciphertext is in place: opening it needs no lock
    }
  }

  /** Returns whether {@link #planRead} can plan reads here (the segments are plain files of this machine). */
  boolean plansReads() {
    return segments.nativeReads();
  }

  /**
   * Plans the read of {@code dst.remaining()} bytes at {@code offset}: one resolution of the maps
   * gives both the file reads and the range's allocation. Returns null when the read cannot be
   * planned (not whole blocks, or segments that are not plain files here); the caller then reads
   * as usual.
   */
  ReadPlan planRead(long offset, ByteBuffer dst, ReadPlan.Scratch scratch) throws IOException {
    int len = dst.remaining();
    if (offset % BLOCK != 0 || len % BLOCK != 0 || !segments.nativeReads()) {
      return null;
    }
    ReadPlan plan = new ReadPlan(segments, scratch);
    if (segments.sealer() != null && len / BLOCK >= PartBatch.PARALLEL_PARTS) {
      plan.openInBatch(new PartBatch(segments.sealer(), len / BLOCK));
    }
    ExtentList extents = new ExtentList();
    List<Lock> held = new ArrayList<>(2);
    boolean planned = false;
    try {
      List<Piece> pieces = new ArrayList<>();
      resolve(volume, snapshot, offset / BLOCK, (offset + len) / BLOCK, 1, pieces, held);
      pieces.sort(Comparator.comparingLong(Piece::from));
      ByteBuffer out = dst.duplicate();
      for (Piece p : joined(pieces)) {
        MapEntry e = p.entry();
        long bytes = (p.to() - p.from()) * BLOCK;
        if (e != null && e.kind() == MapEntry.Kind.DATA) {
          plan.addRecord(e.record(), layerVolume(p.depth()), e.start() - e.recordBlock(), e.recordBlock(), (int) (p.to() - p.from()), out);
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

  /** Returns the pieces covering bytes {@code [offset, end)}, in order. */
  List<Piece> piecesCovering(long offset, long end) {
    List<Piece> pieces = new ArrayList<>();
    List<Lock> held = new ArrayList<>(2);
    try {
      resolve(volume, snapshot, offset / BLOCK, (end + BLOCK - 1) / BLOCK, 1, pieces, held);
    } finally {
      unlock(held);
    }
    pieces.sort(Comparator.comparingLong(Piece::from));
    return pieces;
  }

  /**
   * Returns the runs of blocks of {@code [from, to)} where this view and {@code other} (another
   * view of the same datastore) may read differently, sorted and merged: everywhere except where
   * both read the same block of the same record, or both read zeros. Compares maps, not data, so
   * it costs lookups only; a transplant uses it to keep shared what the change log over-reports
   * (the ranges a revert undid, for one).
   */
  List<long[]> differing(VolumeView other, long from, long to) {
    List<Piece> mine = piecesCovering(from * BLOCK, to * BLOCK);
    List<Piece> theirs = other.piecesCovering(from * BLOCK, to * BLOCK);
    List<long[]> out = new ArrayList<>();
    int i = 0;
    int j = 0;
    long at = from;
    while (at < to && i < mine.size() && j < theirs.size()) {
      Piece a = mine.get(i);
      Piece b = theirs.get(j);
      long end = Math.min(to, Math.min(a.to(), b.to()));
      if (end > at && !sameSource(a, b, at)) {
        if (!out.isEmpty() && out.getLast()[1] == at) {
          out.getLast()[1] = end;
        } else {
          out.add(new long[] {at, end});
        }
      }
      at = Math.max(at, end);
      if (a.to() <= at) {
        i++;
      }
      if (b.to() <= at) {
        j++;
      }
    }
    return out;
  }

  /** Returns whether pieces {@code a} and {@code b}, both covering block {@code at}, read it from the same place. */
  private static boolean sameSource(Piece a, Piece b, long at) {
    MapEntry x = a.entry();
    MapEntry y = b.entry();
    boolean xZero = x == null || x.kind() != MapEntry.Kind.DATA;
    boolean yZero = y == null || y.kind() != MapEntry.Kind.DATA;
    if (xZero || yZero) {
      return xZero && yZero;
    }
    return x.record().equals(y.record())
        && x.recordBlock() + (at - a.from()) == y.recordBlock() + (at - b.from());
  }

  /** Returns what bytes {@code [offset, offset + length)} hold (data, zeros, holes), in order. */
  List<Extent> allocation(long offset, long length) {
    ExtentList out = new ExtentList();
    if (length == 0) {
      return out.toList();
    }
    long end = offset + length;
    for (Piece p : piecesCovering(offset, end)) {
      long a = Math.max(p.from() * BLOCK, offset);
      long b = Math.min(p.to() * BLOCK, end);
      Extent.Kind kind = p.entry() == null ? Extent.Kind.HOLE
          : p.entry().kind() == MapEntry.Kind.DATA ? Extent.Kind.DATA : Extent.Kind.ZERO;
      out.add(a, b - a, kind);
    }
    return out.toList();
  }

  /**
   * Returns, for the bytes {@code [offset, offset + length)}, the clone-chain layer each run is
   * allocated in, in order, neighbours of equal depth merged.
   */
  List<DepthExtent> allocationDepth(long offset, long length) {
    List<DepthExtent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    long end = offset + length;
    for (Piece p : piecesCovering(offset, end)) {
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

  /**
   * Returns {data, unique, shared} in bytes: data the view reads, the part only it references,
   * and the rest (shared with snapshots, the head or a parent).
   */
  long[] space() {
    long blocks = volume.blocks;
    // Windows bound the pieces held at once; at most 64 of them keep a huge sparse volume cheap.
    long window = Math.max(1L << 18, (blocks + 63) / 64);
    long data = 0;
    long unique = 0;
    for (long from = 0; from < blocks; from += window) {
      long[] part = space(from, Math.min(blocks, from + window));
      data += part[0];
      unique += part[1];
    }
    return new long[] {data * BLOCK, unique * BLOCK, (data - unique) * BLOCK};
  }

  /** Returns {data, unique} in blocks for blocks {@code [from, to)}; see {@link #space()}. */
  private long[] space(long from, long to) {
    List<Piece> pieces = new ArrayList<>();
    List<Lock> held = new ArrayList<>(2);
    try {
      resolve(volume, snapshot, from, to, 1, pieces, held);
      long data = 0;
      long unique = 0;
      List<SnapshotState> snapshots = volume.snapshots();
      SnapshotState latest = volume.latestSnapshot();
      int index = snapshot == null ? -1 : snapshots.indexOf(snapshot);
      SnapshotState previous = index > 0 ? snapshots.get(index - 1) : null;
      BlockMap head = volume.head();
      for (Piece p : pieces) {
        if (p.entry() == null || p.entry().kind() != MapEntry.Kind.DATA) {
          continue;
        }
        long n = p.to() - p.from();
        data += n;
        long birth = p.entry().generation();
        boolean only = snapshot == null
            ? p.source() == head && (latest == null || birth > latest.generation())
            : p.source() == snapshot.delta && (previous == null || birth > previous.generation());
        if (only) {
          unique += n;
        }
      }
      return new long[] {data, unique};
    } finally {
      unlock(held);
    }
  }

  @Override
  public String toString() {
    return snapshot == null ? volume.toString() : "snapshot " + volume.name + "@" + snapshot.name();
  }
}
