package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Copies ranges of one view (a source snapshot) into the head of an incoming volume: the data
 * extents are read and written in chunks of the largest record (1 MiB, aligned, as a volume's own
 * writes keep to), holes and zeros are not copied but, where the target may hold older data,
 * discarded. The next chunk is read on another thread while one is written, so inflating the
 * source's records and compressing the target's use both cores.
 */
final class TransplantCopy {
  private static final long CHUNK = (long) RecordHeader.MAX_BLOCKS * VolumeState.BLOCK;

  private final Volume target;
  private final TransplantProgress progress;
  private final ByteBuffer[] buffers = {ByteBuffer.allocateDirect((int) CHUNK), ByteBuffer.allocateDirect((int) CHUNK)};
  private long copied;

  /** Creates a copier into {@code target} reporting to {@code progress}. */
  TransplantCopy(Volume target, TransplantProgress progress) {
    this.target = target;
    this.progress = progress;
  }

  /** Returns the data bytes copied so far. */
  long copied() {
    return copied;
  }

  /** One step: a chunk of data to copy, or a range to discard. */
  private record Step(long offset, long length, boolean data) {}

  /**
   * The steps over some ranges of a view, made as they are needed: the view's allocation is looked
   * up one range at a time and a data extent is cut into chunks as it is reached, so a large
   * volume costs no more memory than a small one.
   */
  private static final class Steps {
    private final Volume view;
    private final List<Extent> ranges;
    private final boolean mayHoldData;
    private int range;
    private List<Extent> extents = List.of();
    private int extent;
    private long at;

    Steps(Volume view, List<Extent> ranges, boolean mayHoldData) {
      this.view = view;
      this.ranges = ranges;
      this.mayHoldData = mayHoldData;
    }

    /** Returns the next step, or null after the last. */
    Step next() throws IOException {
      while (true) {
        if (extent < extents.size()) {
          Extent e = extents.get(extent);
          if (e.kind() == Extent.Kind.DATA) {
            long from = Math.max(at, e.offset());
            long to = Math.min(e.end(), (from / CHUNK + 1) * CHUNK);
            at = to;
            if (to == e.end()) {
              extent++;
            }
            return new Step(from, to - from, true);
          }
          extent++;
          if (mayHoldData) {
            return new Step(e.offset(), e.length(), false);
          }
          continue;
        }
        if (range >= ranges.size()) {
          return null;
        }
        Extent r = ranges.get(range++);
        extents = view.allocation(r.offset(), r.length());
        extent = 0;
        at = 0;
      }
    }
  }

  /**
   * Makes the target read as {@code view} over {@code ranges} (sorted, disjoint): data is copied;
   * where the view reads zeros the target is discarded when {@code mayHoldData}, else left alone.
   */
  void copy(Volume view, List<Extent> ranges, boolean mayHoldData, String label, int index, int count)
      throws IOException {
    Steps steps = new Steps(view, ranges, mayHoldData);
    try (ExecutorService reader = Executors.newVirtualThreadPerTaskExecutor()) {
      int turn = 0;
      Step step = steps.next();
      Future<ByteBuffer> pending = step == null ? null : start(reader, view, step, buffers[turn]);
      while (step != null) {
        ByteBuffer data = await(pending);
        turn ^= 1;
        // The next read goes on while this step is written; it fills the other buffer.
        Step following = steps.next();
        pending = following == null ? null : start(reader, view, following, buffers[turn]);
        try {
          if (step.data()) {
            target.write(step.offset(), data);
            copied += step.length();
            progress.copied(label, index, count, copied);
          } else {
            target.discard(step.offset(), step.length());
          }
        } catch (IOException | RuntimeException e) {
          if (pending != null) {
            // Not cancelled: interrupting a thread in a FileChannel read closes the channel for everyone.
            try {
              await(pending);
            } catch (IOException | RuntimeException again) {
              e.addSuppressed(again);
            }
          }
          throw e;
        }
        step = following;
      }
    }
  }

  private static Future<ByteBuffer> start(ExecutorService reader, Volume view, Step step, ByteBuffer buffer) {
    if (!step.data()) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    return reader.submit(() -> {
      ByteBuffer b = buffer.clear().limit((int) step.length());
      view.read(step.offset(), b);
      return b.flip();
    });
  }

  private static ByteBuffer await(Future<ByteBuffer> f) throws IOException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return f.get();
        } catch (InterruptedException e) {
          interrupted = true; // the read must end before its buffer is reused
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          if (c instanceof IOException io) {
            throw io;
          }
          if (c instanceof RuntimeException re) {
            throw re;
          }
          throw new IOException("copy of a volume failed: " + c, c);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
