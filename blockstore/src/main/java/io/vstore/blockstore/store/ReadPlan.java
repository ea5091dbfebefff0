package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.IoObserver;
import io.vstore.blockstore.crypto.PartBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A read of a volume range resolved into the file reads it needs, for callers that do their file
 * I/O themselves, many requests at once (the NBD server, through io_uring): no thread waits for
 * the disk. Zeros, and data still in memory, are in place when the plan is made; {@link #finish}
 * checks what the file reads brought and puts it in place. The segment files stay open until the
 * plan is finished or released, even if the cleaner deletes them meanwhile.
 */
public final class ReadPlan {
  /** Where a plan takes the buffers for data that is checked or inflated before it is placed. */
  public interface Scratch {
    /** Returns a direct buffer with position 0 and limit {@code bytes}. */
    ByteBuffer acquire(int bytes);

    /** Takes back a buffer from {@link #acquire}. */
    void release(ByteBuffer buffer);
  }

  /**
   * One positional read the caller performs: {@code target.remaining()} bytes at {@code position}
   * of file descriptor {@code fd}, into {@code target} (a direct buffer) from its position.
   */
  public record FileRead(int fd, long position, ByteBuffer target) {}

  /** What to do with the bytes one file read brought. */
  @FunctionalInterface
  private interface Step {
    void complete(ByteBuffer got) throws IOException;
  }

  private final SegmentFiles segments;
  private final Scratch scratch;
  /**
   * What the plan keeps for one file read: the descriptor it holds, whether the read must bring
   * all its bytes (false: up to the end of the file is enough), where its target starts in the
   * caller's buffer (-1: a scratch buffer), and what to do with the bytes.
   */
  private record Part(SegmentFds.Handle file, boolean exact, int dstIndex, Step step) {}

  private final List<FileRead> reads = new ArrayList<>(2);
  private final List<Part> parts = new ArrayList<>(2); // one per read
  private final List<ByteBuffer> scratchHeld = new ArrayList<>(2);
  private List<Extent> allocation = List.of();
  /** The caller's buffer (a duplicate), in whose index space {@link Part#dstIndex} counts; set by the first record. */
  private ByteBuffer dst;
  private boolean released;
  /** Where the sealed blocks of a large read wait to be opened together in {@link #finish} (null: each when it arrives). */
  private PartBatch batch;
  /** Who hears of the read when it finishes (null: no one), the volume's name, its bytes and start. */
  private IoObserver observer;
  private String volume;
  private int bytes;
  private long startNanos;

  ReadPlan(SegmentFiles segments, Scratch scratch) {
    this.segments = segments;
    this.scratch = scratch;
  }

  /** Returns the file reads to perform, in no particular order; empty when nothing is left to read. */
  public List<FileRead> fileReads() {
    return reads;
  }

  /** Returns the extents of the range read (data, zeros, holes), as {@code BlockDevice.allocation} would. */
  public List<Extent> allocation() {
    return allocation;
  }

  void allocation(List<Extent> extents) {
    allocation = extents;
  }

  /**
   * Completes the read: {@code results[i]} is what {@code fileReads().get(i)} returned (bytes read,
   * or a negated errno). Checks every block against its checksum and puts it in place; releases
   * the plan whatever happens.
   *
   * @throws CorruptDataException when a checksum fails or a file ends before a record does
   * @throws IOException when a file read failed
   */
  public void finish(int[] results) throws IOException {
    try {
      if (results.length != reads.size()) {
        throw new IllegalArgumentException(results.length + " results for " + reads.size() + " reads");
      }
      for (int i = 0; i < results.length; i++) {
        FileRead r = reads.get(i);
        Part p = parts.get(i);
        int n = results[i];
        if (n < 0) {
          throw new IOException("read of " + p.file().path() + " at offset " + r.position() + " failed: errno " + -n);
        }
        if (p.exact() && n < r.target().remaining()) {
          throw new CorruptDataException("bad segment: " + p.file().path() + " ends before offset " + (r.position() + n)
              + " (a map entry points past its end)");
        }
        ByteBuffer got = r.target().duplicate();
        got.limit(got.position() + Math.min(n, got.remaining()));
        p.step().complete(got);
      }
      if (batch != null) {
        RecordCodec.openAll(segments, batch);
      }
      if (observer != null) {
        observer.completed(volume, IoObserver.Op.READ, bytes, System.nanoTime() - startNanos);
      }
    } finally {
      release();
    }
  }

  /** Opens the sealed blocks this plan reads from files together, in {@code batch}, when the plan finishes. */
  void openInBatch(PartBatch batch) {
    this.batch = batch;
  }

  /** Reports this read of {@code bytes} bytes of {@code volume}, started at {@code startNanos}, to {@code o} when it finishes. */
  void observe(IoObserver o, String volume, int bytes, long startNanos) {
    this.observer = o;
    this.volume = volume;
    this.bytes = bytes;
    this.startNanos = startNanos;
  }

  /** Gives back the plan's files and buffers without finishing; idempotent. */
  public void release() {
    if (released) {
      return;
    }
    released = true;
    if (batch != null) {
      batch.abandon(); // harmless after the batch opened; otherwise no helper writes into dst after this
    }
    parts.forEach(p -> p.file().release());
    scratchHeld.forEach(scratch::release);
  }

  /**
   * Plans blocks {@code [first, first + count)} of the record at {@code key} into {@code dst}'s
   * next {@code count * 4096} bytes; {@code base} is the volume block the map says the record
   * starts at (a sealed record's parts are opened with it as associated data). Called with the locks held that keep the record referenced.
   */
  void addRecord(RecordKey key, long owner, long base, int first, int count, ByteBuffer dst) throws IOException {
    if (this.dst == null) {
      this.dst = dst.duplicate();
    }
    int outIndex = dst.position();
    ByteBuffer out = dst.slice(outIndex, count * RecordHeader.BLOCK);
    dst.position(outIndex + out.capacity());
    if (segments.inMemory(key.segment(), key.offset())) {
      RecordCodec.readBlocks(segments, key, owner, base, first, count, out); // a copy, no I/O
      return;
    }
    RecordHeader header = segments.cachedHeader(key);
    if (header == null && first + count <= RecordCodec.COMBINED_READ_BLOCKS) {
      ByteBuffer span = scratch(RecordCodec.combinedSpan(segments, key.offset(), first + count));
      PartBatch b = batch;
      add(key, key.offset(), span, false, -1, got -> RecordCodec.fromSpan(segments, key, owner, base, got, first, count, out, b));
      return;
    }
    if (header == null) {
      header = RecordCodec.readHeader(segments, key); // large reads: the header read waits, the data does not
    }
    RecordCodec.checkRange(segments, key, header, first, count);
    RecordHeader h = header;
    RecordCodec.forEachChunkPart(h, first, count, (c, inChunk, block, take) -> {
      int bytes = take * RecordHeader.BLOCK;
      ByteBuffer part = out.slice((block - first) * RecordHeader.BLOCK, bytes);
      long chunkAt = key.offset() + h.chunkOffset(c);
      if (h.compressed()[c]) {
        ByteBuffer chunk = scratch(h.chunkLengths()[c]);
        add(key, chunkAt, chunk, true, -1, got -> RecordCodec.inflateChunk(segments, key, h, owner, base, c, got, inChunk, bytes, part));
      } else {
        int index = h.blockCrcIndex(c) + inChunk;
        add(key, chunkAt + (long) inChunk * RecordHeader.BLOCK, part, true, outIndex + (block - first) * RecordHeader.BLOCK,
            got -> RecordCodec.checkBlocks(segments, key, h, owner, base, index, block, got, batch));
      }
    });
  }

  private ByteBuffer scratch(int bytes) {
    ByteBuffer b = scratch.acquire(bytes);
    scratchHeld.add(b);
    return b;
  }

  /**
   * Adds a file read of {@code target.remaining()} bytes at {@code position} of the segment of
   * {@code key}; {@code dstIndex} is where {@code target} starts in the caller's buffer (-1: a
   * scratch buffer). A read of stored blocks that continues the previous one in the file and in
   * the caller's buffer joins it: the stored chunks of a record, and records the cleaner wrote
   * back in order, then cost one read, not one per 64 KiB chunk.
   */
  private void add(RecordKey key, long position, ByteBuffer target, boolean mustFill, int dstIndex, Step step)
      throws IOException {
    SegmentFds.Handle file = segments.nativeFile(key.segment());
    if (dstIndex >= 0 && mustFill && !reads.isEmpty()) {
      int last = reads.size() - 1;
      FileRead r = reads.get(last);
      Part p = parts.get(last);
      int n = r.target().remaining();
      if (p.dstIndex() >= 0 && p.exact() && p.file() == file && r.position() + n == position
          && p.dstIndex() + n == dstIndex) {
        file.release(); // the previous read holds the segment
        Step before = p.step();
        reads.set(last, new FileRead(r.fd(), r.position(), dst.slice(p.dstIndex(), n + target.remaining())));
        parts.set(last, new Part(p.file(), true, p.dstIndex(), got -> {
          before.complete(got.slice(got.position(), n));
          step.complete(got.slice(got.position() + n, got.remaining() - n));
        }));
        return;
      }
    }
    reads.add(new FileRead(file.fd(), position, target));
    parts.add(new Part(file, mustFill, dstIndex, step));
  }
}
