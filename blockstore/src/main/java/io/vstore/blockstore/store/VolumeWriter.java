package io.vstore.blockstore.store;

import io.vstore.blockstore.StripedLocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The write path of a volume's head: merges partial blocks with what the head holds, finds zero
 * runs, encodes the rest into records (compressed when that pays), appends them, and hands the
 * new entries to {@link MapChanges#remap}. Writes to the same blocks are serialized by stripe
 * locks, which makes partial-block read-modify-write atomic; different blocks go in parallel.
 */
final class VolumeWriter {
  private static final int BLOCK = VolumeState.BLOCK;
  private static final ByteBuffer ZERO_BLOCK = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();
  private static final int COMPRESSION_BACKOFF_RECORDS = 8;
  /** The longest ZERO entry a zeroing records: 4 TiB, a power of two that fits a map entry's int length. */
  static final int MAX_ZERO_ENTRY_BLOCKS = 1 << 30;

  private final VolumeState volume;
  private final SegmentUsage usage;
  private final CommitPipeline commits;
  // A stripe is 1 MiB of blocks, the largest record, so an aligned record write takes one or two.
  private final StripedLocks stripes = new StripedLocks(256);
  /** Records left to store without trying to compress; approximate across threads by design. */
  private final AtomicInteger compressionBackoff = new AtomicInteger();
  /** The head's windows that reads found fragmented. */
  private final Defragmenter fragmented = new Defragmenter();

  /** Creates the write path of {@code volume}, appending through {@code usage}. */
  VolumeWriter(VolumeState volume, SegmentUsage usage, CommitPipeline commits) {
    this.volume = volume;
    this.usage = usage;
    this.commits = commits;
  }

  /** Writes {@code src}'s remaining bytes at byte {@code offset} of the head, advancing it. */
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
          volume.headView().readBlocks(first, first + 1, data.duplicate());
        }
        if ((offset + len) % BLOCK != 0 && (end - 1 > first || offset % BLOCK == 0)) {
          volume.headView().readBlocks(end - 1, end, data.duplicate().position((int) ((end - 1 - first) * BLOCK)));
        }
        data.put((int) (offset - first * BLOCK), src, src.position(), len);
      }
      List<MapEntry> entries = new ArrayList<>();
      List<RecordState> states = new ArrayList<>();
      try {
        encode(first, data, volume.layered(), volume.nextBirth(), entries, states);
        volume.mapChanges().remap(first, first + (data.remaining() / BLOCK), entries, states);
      } finally {
        usage.published(entries); // in the map now, or never: the cleaner may have their segments
      }
      src.position(src.position() + len);
    } finally {
      stripes.unlock(mask);
    }
    commits.flushIfLarge();
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
          int shrunk = RecordCodec.encode(data.duplicate().position(data.position() + i * BLOCK), j - i, volume.id,
              first + i, generation, out, attempt, usage.sealer());
          if (small && attempt) {
            compressionBackoff.set(shrunk == 0 ? COMPRESSION_BACKOFF_RECORDS : 0);
          }
          int stored = out.remaining();
          commits.checkHealthy();
          RecordKey key = usage.append(out);
          entries.add(new MapEntry(first + i, j - i, MapEntry.Kind.DATA, key, 0, generation));
          states.add(new RecordState(volume.id, first + i, j - i, stored, j - i));
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

  /** Returns the windows of the head that reads found fragmented, which {@link #defragmentNoted} rewrites. */
  Defragmenter fragmented() {
    return fragmented;
  }

  /**
   * Rewrites up to {@code max} of the windows reads noted as fragmented ({@link #defragment});
   * returns how many it rewrote.
   */
  int defragmentNoted(int max) throws IOException {
    int done = 0;
    for (long w : fragmented.take(max)) {
      if (volume.isDeleted()) {
        break;
      }
      long first = w * Defragmenter.WINDOW_BLOCKS;
      if (defragment(first, Math.min(first + Defragmenter.WINDOW_BLOCKS, volume.blocks), Defragmenter.MIN_READS_PER_WINDOW)) {
        done++;
      }
    }
    return done;
  }

  /**
   * Writes the head's data in blocks {@code [first, end)} (at most one record's worth) back in
   * logical order and points the head's entries there; returns whether it rewrote anything. Each
   * run of at least {@code minEntries} DATA entries of the head that lie wholly inside the range
   * and follow each other without a gap becomes one new record; holes, zero entries and entries
   * that reach out of the range split runs (a range that falls through to a parent or base map is
   * not the head's to rewrite). Holds the range's stripe locks throughout, like a write, so no
   * write of the range comes between the read and the switch; the switch itself
   * ({@link RecordMoves#adoptCopy}) checks that nothing else (revert, the cleaner) changed the
   * entries meanwhile. Entries keep their generations.
   */
  boolean defragment(long first, long end, int minEntries) throws IOException {
    if (first < 0 || first >= end || end - first > RecordHeader.MAX_BLOCKS) {
      throw new IllegalArgumentException("defragment range " + first + ".." + end + " is not 1 to 256 blocks");
    }
    long mask = stripes.lock(first, end);
    try {
      List<MapEntry> inside = new ArrayList<>();
      volume.lock.readLock().lock();
      try {
        for (MapEntry e : volume.head().overlapping(first, end)) {
          if (e.start() >= first && e.end() <= end) {
            inside.add(e);
          }
        }
      } finally {
        volume.lock.readLock().unlock();
      }
      boolean rewrote = false;
      List<MapEntry> run = new ArrayList<>();
      for (MapEntry e : inside) {
        if (e.kind() != MapEntry.Kind.DATA || !run.isEmpty() && run.getLast().end() != e.start()) {
          rewrote |= rewrite(run, minEntries);
          run = new ArrayList<>();
        }
        if (e.kind() == MapEntry.Kind.DATA) {
          run.add(e);
        }
      }
      return rewrote | rewrite(run, minEntries);
    } finally {
      stripes.unlock(mask);
    }
  }

  /** Rewrites {@code run}, head DATA entries that follow each other, as one record if it has {@code minEntries} (at least 2). */
  private boolean rewrite(List<MapEntry> run, int minEntries) throws IOException {
    if (run.size() < Math.max(2, minEntries)) {
      return false;
    }
    long first = run.getFirst().start();
    long end = run.getLast().end();
    ByteBuffer data = ByteBuffer.allocate((int) (end - first) * BLOCK);
    volume.headView().readBlocks(first, end, data); // the run's data, unless a move or revert came first
    data.flip();
    long generation = 0;
    for (MapEntry e : run) {
      generation = Math.max(generation, e.generation()); // informational, in the record header
    }
    List<MapEntry> entries = new ArrayList<>();
    List<RecordState> states = new ArrayList<>();
    try {
      encode(first, data, false, generation, entries, states);
      // Stored data holds no all-zero block, so the run is one record; anything else is left as it was.
      return entries.size() == 1 && entries.getFirst().length() == end - first
          && volume.moves().adoptCopy(first, end, run, entries.getFirst().record(), states.getFirst());
    } finally {
      usage.published(entries); // in the map now, or dead space
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
      if (volume.layered()) {
        // A clone must hide its parent's data behind explicit zero entries. An entry's length is
        // an int, so a 64 TiB range takes 16 entries of 1 Gi blocks.
        for (long b = firstWhole; b < endWhole; b += MAX_ZERO_ENTRY_BLOCKS) {
          entries.add(new MapEntry(b, (int) Math.min(MAX_ZERO_ENTRY_BLOCKS, endWhole - b), MapEntry.Kind.ZERO, null, 0,
              0));
          states.add(null);
        }
      }
      volume.mapChanges().remap(firstWhole, endWhole, entries, states);
    } finally {
      stripes.unlock(mask);
    }
    commits.flushIfLarge();
  }
}
