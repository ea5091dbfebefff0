package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.util.List;

/**
 * Repoints a volume's map entries at a copy of their data: the cleaner's relocation of a record it
 * copied out of a segment, and the defragmenter's adoption of a range rewritten in order. Both
 * hold the commit lock shared and the volume's lock exclusively, as writes do, and leave what
 * every view reads unchanged.
 */
final class RecordMoves {
  private final VolumeState volume;
  private final CommitPipeline commits;

  RecordMoves(VolumeState volume, CommitPipeline commits) {
    this.volume = volume;
    this.commits = commits;
  }

  /**
   * Points the head entries {@code expected}, which cover blocks {@code [from, to)} one after
   * another, at {@code key}: a new record, described by {@code state}, holding their data in
   * order (the defragmenter's copy). Each entry keeps its generation, so snapshots, clones and
   * changed-block tracking see nothing change (neighbours of the same generation are joined). Returns false, changing nothing, when the head no
   * longer maps exactly {@code expected} there (a write, revert or cleaner move came first) or the
   * volume was deleted; the copy is then dead space.
   */
  boolean adoptCopy(long from, long to, List<MapEntry> expected, RecordKey key, RecordState state) throws IOException {
    commits.lock().readLock().lock();
    volume.lock.writeLock().lock();
    try {
      if (volume.isDeleted() || !volume.head().overlapping(from, to).equals(expected)) {
        return false;
      }
      MapEntry last = null;
      for (MapEntry e : expected) {
        MapEntry moved = new MapEntry(e.start(), e.length(), e.kind(), key, (int) (e.start() - from), e.generation());
        if (last != null && last.generation() == e.generation()) {
          // Neighbours of one generation become one entry: a snapshot sees both or neither.
          volume.head().remove(last);
          moved = new MapEntry(last.start(), last.length() + e.length(), e.kind(), key, last.recordBlock(), e.generation());
        }
        volume.head().put(moved);
        last = moved;
      }
      volume.refs().put(key, state);
      volume.addAllocated(state.storedBytes());
      volume.addLive(key.segment(), state.storedBytes());
      for (MapEntry e : expected) {
        volume.mapChanges().release(e.record(), e.length());
      }
      commits.noteChange();
      return true;
    } finally {
      volume.lock.writeLock().unlock();
      commits.lock().readLock().unlock();
    }
  }

  /**
   * Points every entry that still references {@code from} at {@code to}, a copy of the same record,
   * and returns how many block references moved (0 when the record died meanwhile). Used by the cleaner.
   */
  int relocate(RecordKey from, RecordKey to, RecordState state) throws IOException {
    commits.lock().readLock().lock();
    volume.lock.writeLock().lock();
    try {
      RecordState current = volume.refs().get(from);
      if (current == null || current.liveBlocks() == 0) {
        return 0;
      }
      int moved = 0;
      for (BlockMap m : volume.maps()) {
        for (MapEntry e : m.overlapping(state.firstBlock(), state.firstBlock() + state.blocks())) {
          if (from.equals(e.record())) {
            m.put(e.relocated(to));
            moved += e.length();
          }
        }
      }
      if (moved != current.liveBlocks()) {
        throw new CorruptDataException("bad map: volume " + volume.name + " references " + moved + " blocks of " + from
            + " but its state counts " + current.liveBlocks());
      }
      volume.refs().put(from, current.withLive(-moved));
      volume.refs().put(to, new RecordState(volume.id, current.firstBlock(), current.blocks(), current.storedBytes(), moved));
      volume.addLive(from.segment(), -current.storedBytes());
      volume.addLive(to.segment(), current.storedBytes());
      commits.noteChange();
      return moved;
    } finally {
      volume.lock.writeLock().unlock();
      commits.lock().readLock().unlock();
    }
  }
}
