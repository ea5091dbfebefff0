package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * The change log's rows and how they are merged so that the log stays small. A row
 * {@code changes/(volume, g)} holds the blocks changed by generations {@code (from, g]}: a flush
 * writes one for its own generation ({@code from = g - 1}); merging two neighbouring rows makes
 * one that covers both. A change id {@code s} is answered exactly when no row covers generations on
 * both sides of it ({@code from < s < g}); merging across {@code s} is what prunes it.
 *
 * <p>Kept exact: the volume's pinned generations ({@link ChangePins}), its snapshots' generations
 * and the newest {@link #RECENT} generations (so a change id just handed out can still be pinned).
 * Every flush merges the row that leaves that window into the rows before it, back to the nearest
 * kept generation; deleting a pin or a snapshot merges the rows on either side. So the log holds
 * about one row per kept generation (and a few more for large histories, see {@link #mergeable}),
 * whatever the number of flushes.
 *
 * <p>Merges are part of a batch (the flush's, or a pin's or snapshot's own), read only committed
 * rows and so leave, after a crash, either the rows before or after the merge: both answer every
 * kept change id alike. A flush merges only when every earlier batch of the volume is committed, as
 * the flushes of a pipeline stage before the previous ones commit.
 */
final class ChangeLog {
  /** How many of a volume's newest generations are never merged. */
  static final int RECENT = 16;
  /** Rows up to this many bytes merge freely; larger ones only with rows at least half their size. */
  static final int SMALL_ROW = 4096;
  /** Whether merging is on; off ({@code -Dvstore.cbt.prune=false}) only to measure the log without it. */
  static final boolean PRUNE = !"false".equals(System.getProperty("vstore.cbt.prune"));

  /** The field of a {@link VolumeRecord}'s JSON holding its committed generation (names hold no quotes). */
  private static final byte[] GENERATION_FIELD = "\"generation\":".getBytes(StandardCharsets.US_ASCII);

  private ChangeLog() {}

  /**
   * One row: the blocks changed by generations {@code (from, generation]}.
   *
   * @param from the newest generation the row does not cover
   * @param generation the newest generation it covers, its key
   * @param ranges the changed blocks, as {@link BlockRanges#encode} makes them
   */
  record Row(long from, long generation, byte[] ranges) {
    /** Returns the row's value: the ranges, after the {@code from} generation when it is not {@code generation - 1}. */
    byte[] encode() {
      if (from == generation - 1) {
        return ranges;
      }
      return ByteBuffer.allocate(8 + ranges.length).order(ByteOrder.LITTLE_ENDIAN).putLong(from).put(ranges).array();
    }

    /** Decodes the row of {@code volume} at {@code generation} from its value. */
    static Row decode(long volume, long generation, byte[] value) throws CorruptDataException {
      if (value.length % 16 == 0) {
        return new Row(generation - 1, generation, value);
      }
      long from = value.length % 16 == 8 ? ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong() : -1;
      if (from < 0 || from >= generation - 1) {
        throw new CorruptDataException("bad change log: row of volume id " + volume + " at generation " + generation
            + " is " + value.length + " bytes" + (from < 0 ? ", expected 16n or 16n + 8" : " from generation " + from
            + ", expected from below " + (generation - 1)));
      }
      return new Row(from, generation, Arrays.copyOfRange(value, 8, value.length));
    }
  }

  /**
   * Stages {@code v}'s change-log part of the flush that commits its generation {@code generation}:
   * the row of {@code changes}, and the merge of the row that leaves the recent window. The caller
   * holds the commit lock exclusively.
   */
  static void stage(MetaStore meta, WriteBatch batch, VolumeState v, long generation, BlockRanges changes)
      throws IOException, RocksDBException {
    if (!changes.isEmpty()) {
      batch.put(meta.changes, Keys.pair(v.id, generation), changes.encode());
    }
    long newestMergeable = generation - RECENT;
    if (!PRUNE || newestMergeable < 1 || durableGeneration(meta, v) != generation - 1) {
      return; // an earlier batch of v is still committing: the rows read here could be stale
    }
    Row row = rowAtOrBefore(meta, v.id, newestMergeable);
    if (row != null) {
      mergeBackwards(meta, batch, v, row);
    }
  }

  /**
   * Merges, in their own batch, the rows that {@code generation} no longer keeps apart now that it is
   * neither pinned nor a snapshot's. The caller holds the commit lock exclusively, after a flush.
   */
  static void released(MetaStore meta, VolumeState v, long generation) throws IOException {
    if (!PRUNE) {
      return;
    }
    Row next = rowAfter(meta, v.id, generation);
    if (next == null || next.generation() > v.committedGeneration() - RECENT) {
      return; // the recent window's merges will pass over the generation
    }
    try (WriteBatch batch = new WriteBatch()) {
      mergeBackwards(meta, batch, v, next);
      if (batch.count() > 0) {
        meta.commit(batch);
      }
    } catch (RocksDBException e) {
      throw new IOException("cannot merge change log of " + v + ": " + e.getMessage(), e);
    }
  }

  /** Merges {@code row} into the rows before it while {@link #mergeable}, staging the result in {@code batch}. */
  private static void mergeBackwards(MetaStore meta, WriteBatch batch, VolumeState v, Row row)
      throws IOException, RocksDBException {
    Row merged = row;
    while (merged.from() > 0) { // no row ends at generation 0
      Row before = rowAtOrBefore(meta, v.id, merged.from());
      if (before == null || !mergeable(meta, v, before, merged)) {
        break;
      }
      BlockRanges union = new BlockRanges();
      union.addEncoded(before.ranges());
      union.addEncoded(merged.ranges());
      batch.delete(meta.changes, Keys.pair(v.id, before.generation()));
      merged = new Row(before.from(), merged.generation(), union.encode());
    }
    if (merged != row) {
      batch.put(meta.changes, Keys.pair(v.id, merged.generation()), merged.encode());
    }
  }

  /**
   * Returns whether {@code before} and {@code after} may become one row: no change id between them
   * is kept, and the older is small or not much larger than the newer, so that a large history is
   * rewritten a logarithmic number of times rather than at every flush.
   */
  private static boolean mergeable(MetaStore meta, VolumeState v, Row before, Row after) throws IOException {
    long olderBytes = before.ranges().length;
    if (olderBytes > SMALL_ROW && olderBytes > 2L * after.ranges().length) {
      return false;
    }
    return !kept(meta, v, before.generation(), after.from());
  }

  /** Returns whether a change id of {@code v} in {@code [from, to]} is pinned or a snapshot's. */
  static boolean kept(MetaStore meta, VolumeState v, long from, long to) throws IOException {
    for (SnapshotState s : v.snapshots()) {
      if (s.generation() >= from && s.generation() <= to) {
        return true;
      }
    }
    return ChangePins.pinnedBetween(meta, v.id, from, to);
  }

  /** Returns the row of {@code volume} with the greatest generation at most {@code generation}, or null. */
  static Row rowAtOrBefore(MetaStore meta, long volume, long generation) throws IOException {
    try (RocksIterator it = meta.iterator(meta.changes)) {
      it.seekForPrev(Keys.pair(volume, generation));
      return it.isValid() && Keys.first(it.key()) == volume ? Row.decode(volume, Keys.second(it.key()), it.value())
          : null;
    }
  }

  /** Returns the row of {@code volume} with the least generation above {@code generation}, or null. */
  static Row rowAfter(MetaStore meta, long volume, long generation) throws IOException {
    try (RocksIterator it = meta.iterator(meta.changes)) {
      it.seek(Keys.pair(volume, generation + 1));
      return it.isValid() && Keys.first(it.key()) == volume ? Row.decode(volume, Keys.second(it.key()), it.value())
          : null;
    }
  }

  /**
   * Throws unless change id {@code changeId} (generation {@code generation} of {@code v}) is answered
   * exactly by the committed log: no row covers generations on both sides of it.
   */
  static void checkTracked(MetaStore meta, VolumeState v, String changeId, long generation) throws IOException {
    Row next = rowAfter(meta, v.id, generation);
    if (next != null && next.from() < generation) {
      throw pruned(changeId, next);
    }
  }

  /** Returns the error for change id {@code changeId}, which row {@code merged} spans. */
  static ChangeIdException pruned(String changeId, Row merged) {
    return new ChangeIdException("change id " + changeId + " is no longer tracked (pruned at generation "
        + merged.generation() + ": generations " + (merged.from() + 1) + " to " + merged.generation()
        + " were merged; pin change ids with 'cbt pin' to keep them)");
  }

  /**
   * Returns the generation of {@code v} that the metadata store holds committed. Read straight from
   * the catalog entry's JSON: decoding the whole entry cost more than the rest of the merge.
   */
  private static long durableGeneration(MetaStore meta, VolumeState v) throws IOException {
    byte[] record = meta.get(meta.catalog, Keys.catalog('v', v.id));
    if (record == null) {
      return 0;
    }
    int at = indexOf(record, GENERATION_FIELD);
    if (at >= 0) {
      long g = 0;
      int i = at + GENERATION_FIELD.length;
      int digits = 0;
      for (; i < record.length && record[i] >= '0' && record[i] <= '9' && digits < 18; i++, digits++) {
        g = g * 10 + (record[i] - '0');
      }
      if (digits > 0 && i < record.length && (record[i] == ',' || record[i] == '}')) {
        return g;
      }
    }
    return VolumeRecord.decode(record).generation(); // not as the catalog writes it: decode it all
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
