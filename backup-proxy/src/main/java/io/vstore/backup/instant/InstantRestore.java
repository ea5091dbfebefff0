package io.vstore.backup.instant;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.BooleanSupplier;

/**
 * One instant restore: the {@link InstantRestoreDevice} a guest uses at once, and the background
 * copy that makes the volume complete.
 *
 * <p>Durability: the volume is authoritative for what it holds; the {@link ZeroLog} for what the
 * guest zeroed; the {@link RestoreRecord} says where the rest comes from and up to where the copy
 * is durable (its cursor is saved only after a flush of the volume). A crash therefore loses no
 * flushed guest write, and a resumed copy starts at the cursor. When the copy reaches the end, the
 * volume is flushed, the record and the zero log are deleted and the device stops reading the
 * source: the volume no longer depends on the repository.
 */
public final class InstantRestore {
  /** The largest read of the source the copy makes at once. */
  static final int RUN = 4 << 20;
  /** How often the cursor is saved, in bytes copied and in time. */
  private static final long CHECKPOINT_BYTES = 256L << 20;
  private static final long CHECKPOINT_NANOS = 5_000_000_000L;

  /** Receives the copy's progress: bytes of the volume scanned so far, of the volume's size. */
  @FunctionalInterface
  public interface CopyProgress {
    /** Reports {@code done} of {@code total} bytes scanned. */
    void update(long done, long total);
  }

  private final Path datastore;
  private final InstantRestoreDevice device;
  private volatile RestoreRecord record;

  private InstantRestore(Path datastore, InstantRestoreDevice device, RestoreRecord record) {
    this.datastore = datastore;
    this.device = device;
    this.record = record;
  }

  /**
   * Creates volume {@code record.volume()} in {@code ds} with the source's size, records the
   * restore and returns it, its device ready to serve. Costs the same whatever the size.
   *
   * @throws IllegalStateException if the volume exists already
   */
  public static InstantRestore start(Datastore ds, BlockDevice source, RestoreRecord record) throws IOException {
    if (ds.hasVolume(record.volume())) {
      throw new IllegalStateException("volume " + record.volume() + " exists already: choose another --to-volume");
    }
    BlockDevice volume = ds.createVolume(record.volume(), source.size());
    boolean ok = false;
    try {
      ds.flush(); // the volume exists before anything refers to it
      InstantRestore r = start(ds.path(), volume, source, record);
      ok = true;
      return r;
    } finally {
      if (!ok) {
        volume.close();
      }
    }
  }

  /**
   * Records a restore of {@code source} into {@code target} (empty, of the same size) under
   * datastore directory {@code datastore} and returns it; the device owns both devices.
   */
  static InstantRestore start(Path datastore, BlockDevice target, BlockDevice source, RestoreRecord record)
      throws IOException {
    if (record.size() != source.size() || record.cursor() != 0) {
      throw new IllegalArgumentException("a new restore starts at 0 with the source's size: " + record);
    }
    Files.createDirectories(datastore.resolve(RestoreRecord.DIRECTORY));
    Path zeroFile = RestoreRecord.zeroLog(datastore, record.volume());
    Files.deleteIfExists(zeroFile); // left by a restore of a volume since deleted
    ZeroLog zeros = ZeroLog.create(zeroFile, record.unitSize(), units(record));
    try {
      record.save(datastore);
    } catch (IOException | RuntimeException e) {
      zeros.close();
      Files.deleteIfExists(zeroFile);
      throw e;
    }
    return new InstantRestore(datastore, new InstantRestoreDevice(source, target, record.unitSize(), zeros), record);
  }

  /** Returns the restores recorded in datastore directory {@code datastore}, unfinished, by volume name. */
  public static List<RestoreRecord> pending(Path datastore) throws IOException {
    Path dir = datastore.resolve(RestoreRecord.DIRECTORY);
    List<RestoreRecord> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
      for (Path f : files) {
        RestoreRecord r = RestoreRecord.load(f);
        if (r != null) {
          out.add(r);
        }
      }
    }
    out.sort(java.util.Comparator.comparing(RestoreRecord::volume));
    return out;
  }

  /**
   * Resumes the restore {@code record} of datastore {@code ds}: opens its volume and zero log and
   * lays the volume over {@code source} again.
   */
  public static InstantRestore resume(Datastore ds, RestoreRecord record, BlockDevice source) throws IOException {
    BlockDevice volume = ds.volume(record.volume(), false);
    boolean ok = false;
    try {
      InstantRestore r = resume(ds.path(), record, volume, source);
      ok = true;
      return r;
    } finally {
      if (!ok) {
        volume.close();
      }
    }
  }

  static InstantRestore resume(Path datastore, RestoreRecord record, BlockDevice target, BlockDevice source)
      throws IOException {
    if (source.size() != record.size() || target.size() != record.size()) {
      throw new IllegalStateException("cannot resume the instant restore of " + record.volume() + ": it was "
          + record.size() + " bytes, the volume is " + target.size() + " and point " + record.point() + " "
          + source.size());
    }
    ZeroLog zeros = ZeroLog.open(RestoreRecord.zeroLog(datastore, record.volume()), record.unitSize(), units(record));
    try {
      return new InstantRestore(datastore, new InstantRestoreDevice(source, target, record.unitSize(), zeros),
          record);
    } catch (RuntimeException e) {
      zeros.close();
      throw e;
    }
  }

  /** Removes what a restore of {@code volume} left in datastore directory {@code datastore} (its volume is gone). */
  public static void forget(Path datastore, String volume) throws IOException {
    Files.deleteIfExists(RestoreRecord.file(datastore, volume));
    Files.deleteIfExists(RestoreRecord.zeroLog(datastore, volume));
  }

  /** Returns a new record for a restore starting now. */
  public static RestoreRecord newRecord(String volume, String repository, String point, String export,
      String keyFile, boolean keyIsPassphrase, int unitSize, long size) {
    return new RestoreRecord(RestoreRecord.VERSION, volume, repository, point, export, keyFile, keyIsPassphrase,
        unitSize, size, 0, Instant.now().toString());
  }

  private static long units(RestoreRecord r) {
    return (r.size() + r.unitSize() - 1) / r.unitSize();
  }

  /** Returns the device to serve: the volume over the source until the copy finishes, then the volume. */
  public InstantRestoreDevice device() {
    return device;
  }

  /** Returns the record as last saved. */
  public RestoreRecord record() {
    return record;
  }

  /**
   * Copies every unit the volume lacks from the source, from the saved cursor on, while the guest
   * uses the device; saves the cursor as it goes. On reaching the end, makes the volume independent
   * of the source (see the class comment).
   *
   * @param cancelled polled between runs; when it turns true the cursor is saved and the copy stops
   * @return true if the restore is complete, false if it was cancelled
   */
  public boolean copy(CopyProgress progress, BooleanSupplier cancelled) throws IOException {
    long size = record.size();
    int run = Math.max(RUN, record.unitSize());
    long start = record.cursor();
    // Reading (decompressing, decrypting) the source and writing the volume overlap: a reader
    // thread stays up to two runs ahead of this one.
    BlockingQueue<Run> ready = new ArrayBlockingQueue<>(2);
    // One buffer per run in flight (two queued, one being read, one being written): no allocation per run.
    BlockingQueue<ByteBuffer> buffers = new ArrayBlockingQueue<>(4);
    for (int i = 0; i < 4; i++) {
      buffers.add(ByteBuffer.allocate(run));
    }
    Reader reader = new Reader(start, size, run, ready, buffers, cancelled);
    Thread thread = Thread.ofVirtual().name("instant-restore-read " + record.volume()).start(reader);
    try {
      long checkpointAt = start;
      long checkpointTime = System.nanoTime();
      progress.update(start, size);
      while (true) {
        Run r;
        try {
          r = ready.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("instant restore of " + record.volume() + " interrupted");
        }
        if (r.failure != null) {
          throw r.failure;
        }
        if (r == Run.CANCELLED) {
          checkpoint(checkpointAt(reader));
          return false;
        }
        if (r == Run.END) {
          break;
        }
        for (Run.Piece p : r.pieces) {
          device.fill(p.offset, p.data);
        }
        if (r.buffer != null) {
          buffers.add(r.buffer);
        }
        reader.done = r.end;
        progress.update(r.end, size);
        if (r.end - checkpointAt >= CHECKPOINT_BYTES || System.nanoTime() - checkpointTime >= CHECKPOINT_NANOS) {
          checkpoint(r.end);
          checkpointAt = r.end;
          checkpointTime = System.nanoTime();
        }
      }
      finish();
      return true;
    } finally {
      reader.stop = true;
      ready.clear();
      thread.interrupt();
    }
  }

  private long checkpointAt(Reader reader) {
    return reader.done;
  }

  /** Makes the volume durable, then saves the cursor {@code at}. */
  private void checkpoint(long at) throws IOException {
    if (at <= record.cursor()) {
      return;
    }
    device.target().flush();
    RestoreRecord next = record.withCursor(at);
    next.save(datastore);
    record = next;
  }

  /** Makes the volume durable and independent of the source; then forgets the restore. */
  private void finish() throws IOException {
    device.target().flush();
    device.detachSource();
    // The record goes first: without it nothing reads the zero log (a crash in between leaves an
    // orphan log that the next restore of this volume name deletes).
    Files.deleteIfExists(RestoreRecord.file(datastore, record.volume()));
    Files.deleteIfExists(RestoreRecord.zeroLog(datastore, record.volume()));
    ZeroLog.syncDirectory(datastore.resolve(RestoreRecord.DIRECTORY));
    record = record.withCursor(record.size());
  }

  /** One stretch of the source read ahead: its data extents (holes and zeros left out). */
  private record Run(long end, List<Piece> pieces, ByteBuffer buffer, IOException failure) {
    static final Run END = new Run(-1, List.of(), null, null);
    static final Run CANCELLED = new Run(-2, List.of(), null, null);

    record Piece(long offset, ByteBuffer data) {}
  }

  /** Reads the source run by run, skipping what its allocation reports as reading zeros. */
  private final class Reader implements Runnable {
    private final long start;
    private final long size;
    private final int run;
    private final BlockingQueue<Run> out;
    private final BlockingQueue<ByteBuffer> buffers;
    private final BooleanSupplier cancelled;
    volatile boolean stop;
    /** Where the writer has filled up to. */
    volatile long done;

    Reader(long start, long size, int run, BlockingQueue<Run> out, BlockingQueue<ByteBuffer> buffers,
        BooleanSupplier cancelled) {
      this.start = start;
      this.size = size;
      this.run = run;
      this.out = out;
      this.buffers = buffers;
      this.cancelled = cancelled;
      this.done = start;
    }

    @Override
    public void run() {
      try {
        long pos = start;
        while (pos < size && !stop) {
          if (cancelled.getAsBoolean()) {
            out.put(Run.CANCELLED);
            return;
          }
          long end = Math.min(size, pos + run);
          List<Run.Piece> pieces = new ArrayList<>();
          ByteBuffer buffer = buffers.take();
          int unit = record.unitSize();
          long extentEnd = -1;
          for (Extent e : sourceAllocation(pos, end - pos)) {
            if (e.kind().readsAsZeros()) {
              continue;
            }
            // Whole units, as the merge works in units; a neighbour's zeros cost nothing to skip.
            long from = Math.max(Math.max(pos, extentEnd), e.offset() & -unit);
            long to = Math.min(end, (e.end() + unit - 1) & -(long) unit);
            if (from >= to) {
              continue;
            }
            // Pieces lie in the run in ascending order, so each has its own stretch of the buffer.
            ByteBuffer data = buffer.slice((int) (from - pos), (int) (to - from));
            readSource(from, data);
            pieces.add(new Run.Piece(from, data.flip()));
            extentEnd = to;
          }
          out.put(new Run(end, pieces, buffer, null));
          pos = end;
        }
        if (!stop) {
          out.put(Run.END);
        }
      } catch (IOException e) {
        offer(new Run(-3, List.of(), null, e));
      } catch (UncheckedIOException e) {
        offer(new Run(-3, List.of(), null, e.getCause()));
      } catch (RuntimeException e) {
        offer(new Run(-3, List.of(), null, new IOException("instant restore of " + record.volume() + ": " + e, e)));
      } catch (InterruptedException e) {
        // stopped by the writer
      }
    }

    private void offer(Run r) {
      try {
        out.put(r);
      } catch (InterruptedException e) {
        // stopped by the writer
      }
    }
  }

  private List<Extent> sourceAllocation(long offset, long length) throws IOException {
    return device.sourceAllocation(offset, length);
  }

  private void readSource(long offset, ByteBuffer dst) throws IOException {
    device.readSource(offset, dst);
  }
}
