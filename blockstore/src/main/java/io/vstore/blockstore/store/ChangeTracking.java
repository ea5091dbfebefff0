package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.rocksdb.RocksIterator;

/**
 * Changed-block tracking from the change log. Every flush commits, in the same batch as the map
 * changes, the block ranges each volume's new generation touched (writes, zeroing, discards,
 * reverts). The blocks changed since change id {@code <uuid>/<g>} are the union of the log's
 * entries for generations after {@code g} (up to a snapshot's generation for a snapshot), plus the
 * unflushed changes for the head: exact to the block, proportional to what changed, and crash-safe
 * because the log and the maps are committed together. Older history is merged ({@link ChangeLog}):
 * a change id that is neither pinned ({@link ChangePins}), a snapshot's, nor among the newest
 * {@value ChangeLog#RECENT} generations may be refused as no longer tracked, never answered wrongly.
 */
final class ChangeTracking {
  private ChangeTracking() {}

  /** Returns the change id of the head ({@code snap} null) or of a snapshot. */
  static String changeId(VolumeState v, SnapshotState snap) {
    return changeId(v.uuid, snap == null ? v.committedGeneration() : snap.generation());
  }

  /** Returns the change id of generation {@code generation} of the volume {@code uuid}. */
  static String changeId(UUID uuid, long generation) {
    return uuid + "/" + generation;
  }

  /**
   * Returns the byte ranges of {@code [offset, offset + length)} that changed since {@code since}
   * ({@code *}: every range holding data).
   */
  static ChangedAreas changedAreas(StoreParts parts, VolumeState v, SnapshotState snap, String since, long offset,
      long length) throws IOException {
    String current = changeId(v, snap);
    if ("*".equals(since)) {
      List<Extent> data = new ArrayList<>();
      for (Extent e : (snap == null ? v.headView() : v.view(snap)).allocation(offset, length)) {
        if (e.kind() == Extent.Kind.DATA) {
          data.add(e);
        }
      }
      return new ChangedAreas(current, data);
    }
    long generation = parse(v, snap, since);
    long upper = snap == null ? Long.MAX_VALUE : snap.generation();
    BlockRanges changed = new BlockRanges();
    // A flush moves the pending changes into its batch before the batch is committed: hold off new
    // flushes and wait for those in progress, or their generations would be in neither place.
    CommitPipeline commits = parts.commits();
    commits.lock().readLock().lock();
    try {
      commits.awaitCommitted();
      collect(parts.meta(), v, since, generation, upper, snap == null, changed);
    } finally {
      commits.lock().readLock().unlock();
    }
    long end = offset + length;
    List<Extent> out = new ArrayList<>();
    for (long[] r : changed.list()) {
      long a = Math.max(r[0] * VolumeState.BLOCK, offset);
      long b = Math.min(r[1] * VolumeState.BLOCK, Math.min(end, v.size));
      if (a < b) {
        out.add(new Extent(a, b - a, Extent.Kind.DATA));
      }
    }
    return new ChangedAreas(current, out);
  }

  /**
   * Adds the logged changes of generations after {@code generation} up to {@code upper}, and the
   * pending ones; refuses a generation inside a merged row of the log (it was pruned).
   */
  private static void collect(MetaStore meta, VolumeState v, String since, long generation, long upper,
      boolean withPending, BlockRanges changed) throws IOException {
    v.lock.readLock().lock();
    try (RocksIterator it = meta.iterator(meta.changes)) {
      boolean first = true;
      for (it.seek(Keys.pair(v.id, generation + 1)); it.isValid() && Keys.first(it.key()) == v.id; it.next()) {
        ChangeLog.Row row = ChangeLog.Row.decode(v.id, Keys.second(it.key()), it.value());
        if (first && row.from() < generation) {
          throw ChangeLog.pruned(since, row);
        }
        first = false;
        if (row.generation() > upper) {
          if (row.from() < upper) {
            throw new CorruptDataException("bad change log: volume " + v.name + " has a row merging generations "
                + (row.from() + 1) + " to " + row.generation() + " across snapshot generation " + upper);
          }
          break;
        }
        changed.addEncoded(row.ranges());
      }
      if (withPending) {
        for (long[] r : v.unflushedChanges()) {
          changed.add(r[0], r[1]);
        }
      }
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /** Validates change id {@code since} against the volume and view, returning its generation. */
  static long parse(VolumeState v, SnapshotState snap, String since) throws ChangeIdException {
    int slash = since.lastIndexOf('/');
    long generation;
    try {
      generation = Long.parseLong(since.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new ChangeIdException("bad change id '" + since + "': expected <volume-uuid>/<generation> or *");
    }
    String uuid = slash < 0 ? "" : since.substring(0, slash);
    if (!uuid.equals(v.uuid.toString())) {
      throw new ChangeIdException("change id " + since + " is not valid for volume " + v.name + " (its change ids start "
          + v.uuid + "/): it belongs to another volume, or the volume was recreated");
    }
    if (generation < 0 || generation > v.committedGeneration()) {
      throw new ChangeIdException("change id " + since + " is no longer valid for volume " + v.name
          + ": generation " + generation + " is beyond the volume's " + v.committedGeneration());
    }
    if (snap != null && generation > snap.generation()) {
      throw new ChangeIdException("change id " + since + " is newer than snapshot " + v.name + "@" + snap.name()
          + " (generation " + snap.generation() + ")");
    }
    return generation;
  }
}
