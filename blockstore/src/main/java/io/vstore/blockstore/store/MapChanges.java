package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The changes to a volume's maps that move entries between its head, its snapshots' delta maps and
 * its records' references, by the rule {@link VolumeState} describes: a part of a head entry that
 * the newest snapshot can see moves into that snapshot's delta when it leaves the head, any other
 * part releases its blocks. Writes, snapshot deletion and revert, and a transplant's sharing and
 * roll-back go through here; each takes the volume's lock exclusively (writes also the commit lock
 * shared), and keeps the volume's counters and pending change set up to date.
 */
final class MapChanges {
  private final VolumeState volume;
  private final CommitPipeline commits;
  @GuardedBy("volume.lock")
  private final BlockMap head;
  @GuardedBy("volume.lock")
  private final RecordRefs refs;
  /** The volume's snapshots, oldest first. */
  @GuardedBy("volume.lock")
  private final List<SnapshotState> snapshots;
  /** The volume's blocks changed since the last flush. */
  @GuardedBy("volume.lock")
  private final BlockRanges changes;
  private final AtomicLong allocated;
  private final AtomicLong mappedBlocks;

  /** Creates the map changes of {@code volume}, which owns every other argument. */
  MapChanges(VolumeState volume, CommitPipeline commits, BlockMap head, RecordRefs refs, List<SnapshotState> snapshots,
      BlockRanges changes, AtomicLong allocated, AtomicLong mappedBlocks) {
    this.volume = volume;
    this.commits = commits;
    this.head = head;
    this.refs = refs;
    this.snapshots = snapshots;
    this.changes = changes;
    this.allocated = allocated;
    this.mappedBlocks = mappedBlocks;
  }

  /**
   * Replaces whatever the head maps at blocks {@code [from, to)} with {@code entries} (new records
   * described by {@code states}, in the same order; null for ZERO entries). The parts of older
   * entries that leave the head move to the newest snapshot if it can see them, else are released.
   */
  void remap(long from, long to, List<MapEntry> entries, List<RecordState> states) throws IOException {
    commits.lock().readLock().lock();
    volume.lock.writeLock().lock();
    try {
      long generation = volume.nextBirth();
      volume.noteBirth();
      clearHead(from, to);
      for (int k = 0; k < entries.size(); k++) {
        MapEntry e = entries.get(k);
        head.put(new MapEntry(e.start(), e.length(), e.kind(), e.record(), e.recordBlock(), generation));
        RecordState s = states.get(k);
        if (s != null) {
          refs.put(e.record(), s);
          mappedBlocks.addAndGet(e.length());
          allocated.addAndGet(s.storedBytes());
          volume.addLive(e.record().segment(), s.storedBytes());
        }
      }
      changes.add(from, to);
      commits.noteChange();
    } finally {
      volume.lock.writeLock().unlock();
      commits.lock().readLock().unlock();
    }
  }

  /** Takes blocks {@code [from, to)} out of the head; the parts that leave it go where {@link #leaveHead} says. */
  @GuardedBy("volume.lock")
  private void clearHead(long from, long to) throws IOException {
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
  }

  /**
   * Makes head blocks {@code [from, to)} read what snapshot {@code snap} reads there, by reference:
   * no data is copied, the records gain references. A transplant keeps shared this way what the
   * source shares between snapshots that are not neighbours (what a revert put back). The caller
   * is the head's only writer (an incoming volume's history copy), so no stripe lock is needed.
   */
  void shareFrom(SnapshotState snap, long from, long to) throws IOException {
    commits.lock().readLock().lock();
    volume.lock.writeLock().lock();
    try {
      // Resolved first: the view may read the very head entries about to leave the head (they
      // move to the newest snapshot's delta with their references, and gain one more here).
      List<VolumeView.Piece> pieces = volume.view(snap).piecesCovering(from * VolumeState.BLOCK, to * VolumeState.BLOCK);
      long generation = volume.nextBirth();
      volume.noteBirth();
      clearHead(from, to);
      for (VolumeView.Piece p : pieces) {
        MapEntry e = p.entry();
        int length = (int) (p.to() - p.from());
        if (e != null && e.kind() == MapEntry.Kind.DATA && p.depth() == 1) {
          head.put(new MapEntry(p.from(), length, MapEntry.Kind.DATA, e.record(), e.recordBlock(), generation));
          reference(e.record(), length);
          mappedBlocks.addAndGet(length);
        } else if (e != null) {
          throw new IllegalStateException("cannot share blocks " + p.from() + ".." + p.to() + " of " + snap
              + " in volume " + volume.name + ": only a flat volume's data is shared this way");
        }
      }
      changes.add(from, to);
      commits.noteChange();
    } finally {
      volume.lock.writeLock().unlock();
      commits.lock().readLock().unlock();
    }
  }

  /** Handles a part of an entry that left the head: kept for the newest snapshot, or released. */
  private void leaveHead(MapEntry part) throws IOException {
    if (part.kind() == MapEntry.Kind.DATA) {
      mappedBlocks.addAndGet(-part.length());
    }
    SnapshotState latest = volume.latestSnapshot();
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
      throw new CorruptDataException("bad map: volume " + volume.name + " references " + key + " which has no state");
    }
    refs.put(key, s.withLive(blockCount));
  }

  /** Drops {@code blocks} references to {@code key}; a record left with none is dead space. */
  void release(RecordKey key, int blockCount) throws IOException {
    RecordState s = refs.get(key);
    if (s == null || s.liveBlocks() < blockCount) {
      throw new CorruptDataException("bad map: volume " + volume.name + " references " + key + " which has "
          + (s == null ? "no state" : s.liveBlocks() + " references, fewer than " + blockCount));
    }
    RecordState next = s.withLive(-blockCount);
    refs.put(key, next);
    if (next.liveBlocks() == 0) {
      allocated.addAndGet(-s.storedBytes());
      volume.addLive(key.segment(), -s.storedBytes());
    }
  }

  /** Deletes snapshot {@code s}: what an older snapshot still sees moves to it, the rest is released. */
  void dropSnapshot(SnapshotState s) throws IOException {
    volume.lock.writeLock().lock();
    try {
      int i = snapshots.indexOf(s);
      SnapshotState previous = i > 0 ? snapshots.get(i - 1) : null;
      s.delta.forEach(e -> {
        if (previous != null && e.generation() <= previous.generation()) {
          previous.delta.put(e);
        } else if (e.kind() == MapEntry.Kind.DATA) {
          release(e.record(), e.length());
        }
      });
      snapshots.remove(i);
      s.delta.discard(); // the caller's batch deletes its rows
      s.deleted = true;
    } finally {
      volume.lock.writeLock().unlock();
    }
  }

  /** Makes the head what snapshot {@code s} sees; the undone blocks go to the change set. */
  void revertTo(SnapshotState s) throws IOException {
    volume.lock.writeLock().lock();
    try {
      long generation = volume.committedGeneration() + 1;
      head.forEach(e -> {
        if (e.generation() > s.generation()) {
          head.remove(e);
          leaveHead(e);
          changes.add(e.start(), e.end());
        }
      });
      for (int i = snapshots.indexOf(s); i < snapshots.size(); i++) {
        snapshots.get(i).delta.forEach(e -> {
          if (e.generation() <= s.generation()) {
            // A copy born now: the original stays where older views find it, and newer snapshots,
            // which must not see it, skip the copy because it is born after them.
            head.put(new MapEntry(e.start(), e.length(), e.kind(), e.record(), e.recordBlock(), generation));
            if (e.kind() == MapEntry.Kind.DATA) {
              reference(e.record(), e.length());
              mappedBlocks.addAndGet(e.length());
            }
            changes.add(e.start(), e.end());
          }
        });
      }
      commits.noteChange();
    } finally {
      volume.lock.writeLock().unlock();
    }
  }

  /**
   * Puts the head back as it was when the newest snapshot was taken (empty when there is none):
   * head entries born after it are released, and what left the head into its delta since comes
   * back. A resumed transplant uses it to drop a half-copied step.
   */
  void rollBackToNewestSnapshot() throws IOException {
    volume.lock.writeLock().lock();
    try {
      SnapshotState latest = volume.latestSnapshot();
      long kept = latest == null ? -1 : latest.generation();
      head.forEach(e -> {
        if (e.generation() > kept) {
          head.remove(e);
          if (e.kind() == MapEntry.Kind.DATA) {
            mappedBlocks.addAndGet(-e.length());
            release(e.record(), e.length());
          }
        }
      });
      if (latest != null) {
        // Everything in the newest delta left the head after the snapshot, so it fills the head's gaps exactly.
        latest.delta.forEach(e -> {
          latest.delta.remove(e);
          head.put(e);
          if (e.kind() == MapEntry.Kind.DATA) {
            mappedBlocks.addAndGet(e.length());
          }
        });
      }
      commits.noteChange();
    } finally {
      volume.lock.writeLock().unlock();
    }
  }
}
