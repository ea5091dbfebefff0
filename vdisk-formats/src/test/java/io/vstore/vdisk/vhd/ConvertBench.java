package io.vstore.vdisk.vhd;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.vhdx.VhdxFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Benchmark driver until the generic {@code image convert} lands: copies a raw image into a new
 * VHD or VHDX the way a sparse-preserving convert does (all-zero 1 MiB pieces are not written), on
 * as many threads as there are cores. Usage: {@code ConvertBench vpc|vhdx IN.raw OUT [writeback|unsafe]};
 * with {@code unsafe} the final flush writes the metadata without syncing, as qemu-img convert's
 * default target cache mode does.
 */
public final class ConvertBench {
  private static final int PIECE = 1 << 20;
  private static final int CHUNK = 2 << 20;

  private ConvertBench() {}

  /** Runs the copy and prints the elapsed time in seconds. */
  public static void main(String[] args) throws Exception {
    if (args.length != 3 && args.length != 4) {
      System.err.println("usage: ConvertBench vpc|vhdx IN.raw OUT [writeback|unsafe]");
      System.exit(2);
    }
    ImageFormat format = switch (args[0]) {
      case "vpc" -> new VhdFormat();
      case "vhdx" -> new VhdxFormat();
      default -> throw new IllegalArgumentException("format " + args[0]);
    };
    Path in = Path.of(args[1]);
    Path out = Path.of(args[2]);
    Files.deleteIfExists(out);
    long start = System.nanoTime();
    long size = Files.size(in);
    try (FileChannel src = FileChannel.open(in, StandardOpenOption.READ);
        DiskImage dst = format.create(out, size, new CreateOptions(java.util.Map.of("cache", args.length == 4 ? args[3] : "writeback"), null, null), (p, f) -> {
          throw new IOException("no backing");
        })) {
      int threads = Integer.getInteger("threads", Runtime.getRuntime().availableProcessors());
      long chunks = (size + CHUNK - 1) / CHUNK;
      try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int id = t;
          work.add(pool.submit(() -> {
            copy(src, dst, size, chunks, id, threads);
            return null;
          }));
        }
        for (Future<?> f : work) {
          f.get();
        }
      }
    }
    System.err.printf("vstore copy and close: %.3f s%n", (System.nanoTime() - start) / 1e9);
  }

  /** Copies every {@code step}-th chunk starting at {@code first}, skipping all-zero pieces. */
  private static void copy(FileChannel src, DiskImage dst, long size, long chunks, int first, int step)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    ByteBuffer zeros = ByteBuffer.allocateDirect(PIECE);
    for (long c = first; c < chunks; c += step) {
      long pos = c * CHUNK;
      int n = (int) Math.min(CHUNK, size - pos);
      buf.clear().limit(n);
      while (buf.hasRemaining()) {
        if (src.read(buf, pos + buf.position()) < 0) {
          throw new IOException("short read at " + (pos + buf.position()));
        }
      }
      // Runs of non-zero pieces go out as one write.
      int runStart = -1;
      for (int off = 0; off < n; off += PIECE) {
        int len = Math.min(PIECE, n - off);
        boolean data = buf.slice(off, len).mismatch(zeros.slice(0, len)) >= 0;
        if (data && runStart < 0) {
          runStart = off;
        } else if (!data && runStart >= 0) {
          dst.write(pos + runStart, buf.slice(runStart, off - runStart));
          runStart = -1;
        }
      }
      if (runStart >= 0) {
        dst.write(pos + runStart, buf.slice(runStart, n - runStart));
      }
    }
  }
}
