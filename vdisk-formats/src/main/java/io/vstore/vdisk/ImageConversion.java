package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code image convert}: copies one device's content into a fresh image, sparse-preserving. Holes
 * are never read and all-zero blocks are never written (a fresh image reads zeros there). A target
 * that takes writes in any order gets them from one thread per core; a target whose
 * {@link DiskImage#sequentialWritesOnly()} is true gets them in ascending order from one thread.
 */
public final class ImageConversion {
  /** Bytes each worker reads and scans at a time. */
  static final int CHUNK = 2 << 20;
  private static final int DEFAULT_ZERO_GRANULE = 4096;
  /** Create option naming the target's cache mode: {@code writeback} (syncs) or {@code unsafe} (does not). */
  public static final String CACHE = "cache";

  /**
   * What a conversion did.
   *
   * @param bytesWritten bytes written to the target
   * @param bytesSkipped bytes not written because they were holes or zeros
   */
  public record Result(long bytesWritten, long bytesSkipped) {}

  private ImageConversion() {}

  /**
   * Converts the image at {@code in} (format {@code inFormat}, null to detect, with its chain) into
   * a new image at {@code out}; on failure the partial output is deleted.
   */
  public static Result convert(Path in, String inFormat, Path out, String outFormat, CreateOptions options)
      throws IOException {
    return convert(in, inFormat, out, outFormat, options, (total, done) -> { });
  }

  /**
   * Converts as {@link #convert(Path, String, Path, String, CreateOptions)} does, telling
   * {@code progress} the source's size and the bytes covered so far ({@code (total, done)}):
   * once with 0 done when the source is open, then as chunks complete.
   */
  public static Result convert(Path in, String inFormat, Path out, String outFormat, CreateOptions options,
      java.util.function.BiConsumer<Long, Long> progress) throws IOException {
    try (DiskImage src = ImageFormats.open(in, inFormat, true)) {
      boolean success = false;
      try {
        Result r;
        long total = src.size();
        progress.accept(total, 0L);
        try (DiskImage dst = createTarget(out, outFormat, total, options)) {
          long cluster = dst.info().clusterSize();
          int granule = cluster > 0 && cluster <= CHUNK ? (int) cluster : DEFAULT_ZERO_GRANULE;
          r = copy(src, dst, workers(), granule, dst.sequentialWritesOnly(), done -> progress.accept(total, done));
        }
        success = true;
        return r;
      } finally {
        if (!success) {
          Files.deleteIfExists(out);
        }
      }
    }
  }

  /**
   * Creates the target. The {@code cache} option ({@code unsafe}: no syncs, as qemu-img convert
   * does by default) is a request: a format that does not know it gets its default, syncing.
   */
  private static DiskImage createTarget(Path out, String format, long size, CreateOptions options)
      throws IOException {
    try {
      return ImageFormats.create(out, format, size, options);
    } catch (UnsupportedFormatException e) {
      if (!options.options().containsKey(CACHE) || e.getMessage() == null || !e.getMessage().contains(CACHE)) {
        throw e;
      }
      Map<String, String> rest = new HashMap<>(options.options());
      rest.remove(CACHE);
      return ImageFormats.create(out, format, size, new CreateOptions(rest, options.backingFile(),
          options.backingFormat()));
    }
  }

  /**
   * Returns how many workers a conversion uses: more than the cores, like qemu-img's 8 coroutines
   * over its thread pool, so one waiting on I/O leaves the cores to the others and compression
   * keeps every core busy. The system property {@code vstore.convert.workers} overrides the count.
   */
  static int workers() {
    int cores = Runtime.getRuntime().availableProcessors();
    return Integer.getInteger("vstore.convert.workers", Math.min(64, Math.max(8, 2 * cores)));
  }

  /** Copies {@code src} into {@code dst}, which must read zeros everywhere, with up to {@code threads} workers. */
  public static Result copy(BlockDevice src, DiskImage dst, int threads) throws IOException {
    long cluster = dst.info().clusterSize();
    // A cluster is the target's unit of allocation: skip whole ones.
    int granule = cluster > 0 && cluster <= CHUNK ? (int) cluster : DEFAULT_ZERO_GRANULE;
    return copy(src, dst, threads, granule, dst.sequentialWritesOnly(), done -> { });
  }

  /**
   * Copies {@code src} into {@code dst}, which must read zeros everywhere: holes are not read,
   * zero runs of {@code granule} bytes are not written, and {@code progress} hears of every chunk
   * done (bytes of the source covered so far, in no particular order).
   */
  public static Result copy(BlockDevice src, BlockDevice dst, int threads, int granule, boolean sequentialOnly,
      java.util.function.LongConsumer progress) throws IOException {
    if (dst.size() < src.size()) {
      throw new IllegalArgumentException("target " + dst + " (" + dst.size() + " bytes) is smaller than the source "
          + src + " (" + src.size() + " bytes)");
    }
    int chunk = Math.max(CHUNK, granule);
    long chunks = (src.size() + chunk - 1) / chunk;
    AtomicLong written = new AtomicLong();
    int workers = sequentialOnly ? 1 : (int) Math.max(1, Math.min(threads, chunks));
    int g = granule;
    AtomicLong covered = new AtomicLong();
    DataChunks next = new DataChunks(src, chunk, covered, progress);
    if (workers == 1) {
      new Worker(src, dst, chunk, g, next, written, covered, progress).call();
    } else {
      ExecutorService pool = Executors.newFixedThreadPool(workers);
      try {
        List<Future<Void>> futures = new ArrayList<>();
        for (int i = 0; i < workers; i++) {
          futures.add(pool.submit(new Worker(src, dst, chunk, g, next, written, covered, progress)));
        }
        for (Future<Void> f : futures) {
          try {
            f.get();
          } catch (ExecutionException e) {
            next.stop(); // let the other workers stop early
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
              throw io;
            }
            if (cause instanceof UncheckedIOException u) {
              throw u.getCause();
            }
            if (cause instanceof RuntimeException r) {
              throw r;
            }
            throw new IOException("conversion failed: " + cause, cause);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("conversion interrupted");
          }
        }
      } finally {
        pool.shutdownNow();
      }
    }
    return new Result(written.get(), src.size() - written.get());
  }

  /**
   * Hands out, in ascending order, the chunks of a source that hold something other than known
   * zeros, finding them a window of the source's allocation at a time. Windows that hold nothing
   * double in size (up to {@link #MAX_WINDOW}), so a sparse 64 TiB source costs a few thousand
   * allocation queries, not one per chunk (32 Mi); a window with data starts again small, which
   * keeps each answer's list of extents short. Windows hold whole chunks. Thread-safe.
   */
  static final class DataChunks {
    /** The first window: 64 chunks of the default size. */
    static final long MIN_WINDOW = 128L << 20;
    /** The largest window; its extents list stays small for any image that is mostly holes. */
    static final long MAX_WINDOW = 64L << 30;
    private final BlockDevice src;
    private final int chunk;
    private final long size;
    private final AtomicLong covered;
    private final java.util.function.LongConsumer progress;
    private final java.util.ArrayDeque<Long> ready = new java.util.ArrayDeque<>();
    private long scanned;
    private long window = MIN_WINDOW;
    private boolean stopped;

    DataChunks(BlockDevice src, int chunk, AtomicLong covered, java.util.function.LongConsumer progress) {
      this.src = src;
      this.chunk = chunk;
      this.size = src.size();
      this.covered = covered;
      this.progress = progress;
    }

    /** Returns the index of the next chunk that may hold data, or -1 when none is left. */
    synchronized long next() throws IOException {
      while (ready.isEmpty() && scanned < size && !stopped) {
        long span = Math.min(Math.max(chunk, window / chunk * chunk), size - scanned);
        long lastQueued = -1;
        for (Extent e : src.allocation(scanned, span)) {
          if (e.kind().readsAsZeros()) {
            continue;
          }
          for (long c = Math.max(e.offset() / chunk, lastQueued + 1); c <= (e.end() - 1) / chunk; c++) {
            ready.add(c);
            lastQueued = c;
          }
        }
        // The queued chunks lie inside the window (it holds whole chunks); only the source's last
        // chunk may be short. The rest of the window is done now, as far as progress goes.
        long queued = (long) ready.size() * chunk;
        if (!ready.isEmpty()) {
          queued -= Math.max(0, (ready.getLast() + 1) * chunk - size);
        }
        long empty = span - queued;
        scanned += span;
        window = ready.isEmpty() ? Math.min(MAX_WINDOW, window * 2) : MIN_WINDOW;
        if (empty > 0) {
          progress.accept(covered.addAndGet(empty));
        }
      }
      return stopped || ready.isEmpty() ? -1 : ready.poll();
    }

    /** Hands out no more chunks: a worker failed. */
    synchronized void stop() {
      stopped = true;
    }
  }

  /** Takes the chunks that may hold data in ascending order and copies their non-zero granules. */
  private record Worker(BlockDevice src, BlockDevice dst, int chunk, int granule, DataChunks next,
      AtomicLong written, AtomicLong covered, java.util.function.LongConsumer progress)
      implements java.util.concurrent.Callable<Void> {

    @Override
    public Void call() throws IOException {
      // Direct buffers: the file channels then copy once (kernel to user and back), not three times.
      ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
      MemorySegment seg = MemorySegment.ofBuffer(buf);
      MemorySegment zeros = MemorySegment.ofBuffer(ByteBuffer.allocateDirect(granule));
      boolean[] dataGranule = new boolean[(chunk + granule - 1) / granule];
      long size = src.size();
      for (long c = next.next(); c >= 0; c = next.next()) {
        long start = c * chunk;
        int len = (int) Math.min(chunk, size - start);
        // Only granules that touch a data extent are read and scanned; holes and zero extents
        // are known zeros and cost neither a read nor a scan.
        int granules = (len + granule - 1) / granule;
        java.util.Arrays.fill(dataGranule, 0, granules, false);
        boolean anyData = false;
        for (Extent e : src.allocation(start, len)) {
          if (!e.kind().readsAsZeros()) {
            anyData = true;
            int first = (int) ((e.offset() - start) / granule);
            int last = (int) ((e.end() - start - 1) / granule);
            java.util.Arrays.fill(dataGranule, first, last + 1, true);
          }
        }
        if (!anyData) {
          progress.accept(covered.addAndGet(len));
          continue;
        }
        int runStart = -1;
        int g = 0;
        while (g < granules) {
          if (!dataGranule[g]) {
            if (runStart >= 0) {
              write(start, buf, runStart, g * granule);
              runStart = -1;
            }
            g++;
            continue;
          }
          int h = g;
          while (h < granules && dataGranule[h]) {
            h++;
          }
          int from = g * granule;
          int to = Math.min(len, h * granule);
          src.read(start + from, buf.clear().position(from).limit(to));
          for (int off = from; off < to; off += granule) {
            int n = Math.min(granule, to - off);
            boolean zero = seg.asSlice(off, n).mismatch(zeros.asSlice(0, n)) == -1;
            if (!zero && runStart < 0) {
              runStart = off;
            } else if (zero && runStart >= 0) {
              write(start, buf, runStart, off);
              runStart = -1;
            }
          }
          g = h;
        }
        if (runStart >= 0) {
          write(start, buf, runStart, len);
        }
        progress.accept(covered.addAndGet(len));
      }
      return null;
    }

    private void write(long base, ByteBuffer buf, int from, int to) throws IOException {
      dst.write(base + from, buf.slice(from, to - from));
      written.addAndGet(to - from);
    }
  }
}
