package io.vstore.engine.move;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntToLongFunction;
import java.util.zip.CRC32C;

/**
 * The verification pass after a switch-over: the source as it was at the switch (a snapshot of it,
 * since its head handles forward to the destination by then) compared with the destination per
 * 1 MiB region by CRC32C, skipping regions both read as zeros and regions clients changed on the
 * destination since the switch (asked of the change log once before reading, and once more at the
 * end for the regions whose checksums differed, so the cost stays proportional to the changes).
 * Several regions are checked at once, on both cores: reading and inflating both sides is most of
 * the pass, and it runs after the switch with the source still held. Where the copy pass kept the
 * checksum of what it read from the source and no client changed the region since, the source is
 * not read again.
 */
final class MoveVerification {
  /** The source snapshot the verification reads. */
  static final String VERIFY_SNAPSHOT = "vstore-move-verify";
  private static final int REGION = Mirror.REGION;
  /** Regions checked at once: enough to keep both cores reading, decompressing and checksumming. */
  private static final int IN_FLIGHT = Math.max(2, Math.min(4, Runtime.getRuntime().availableProcessors()));

  private MoveVerification() {}

  /**
   * Compares both sides of the move {@code record} describes; returns the bytes compared, the
   * bytes skipped as changed since the switch, and the bytes of data the source held at the switch.
   *
   * @throws CorruptDataException naming the first region that differs (the source is then kept)
   */
  static long[] run(Datastore source, Datastore destination, String volume, Volume destHead, MoveRecord record,
      VolumeMove.Listener progress) throws IOException {
    return run(source, destination, volume, destHead, record, r -> -1, progress);
  }

  /**
   * Compares both sides as {@link #run(Datastore, Datastore, String, Volume, MoveRecord, VolumeMove.Listener)}
   * does, taking the source's checksum of region {@code r} from {@code copied} where it answers
   * one (the copy pass's, for a region no client changed since: the source still reads so) instead
   * of reading the source there.
   */
  static long[] run(Datastore source, Datastore destination, String volume, Volume destHead, MoveRecord record,
      IntToLongFunction copied, VolumeMove.Listener progress) throws IOException {
    if (!source.hasVolume(volume)) {
      return new long[] {0, 0, 0}; // deleted after verification, before the record went
    }
    boolean hasSnapshot = source.snapshots(volume).stream().map(SnapshotInfo::name)
        .anyMatch(VERIFY_SNAPSHOT::equals);
    if (!hasSnapshot) {
      source.createSnapshot(volume, VERIFY_SNAPSHOT);
    }
    long size = record.size();
    long compared = 0;
    long skipped = 0;
    long data = 0;
    // What clients changed since the switch, asked once for the whole volume: the change log answers
    // a range by collecting every change since the switch, so a question per region would cost
    // O(regions x changes) while clients keep writing.
    BitSet changed = changedSinceSwitch(destination, volume, record);
    BitSet differing = new BitSet();
    try (Volume old = source.volume(volume + "@" + VERIFY_SNAPSHOT, true);
        Checker checker = new Checker(old, destHead, changed, copied, size)) {
      // Regions are checked IN_FLIGHT at once (reading and checksumming on both cores), their
      // outcomes taken in order; progress is reported on this thread, one call per region.
      ArrayDeque<Future<Outcome>> pending = new ArrayDeque<>();
      for (long start = 0; start < size || !pending.isEmpty(); start += REGION) {
        if (start < size) {
          progress.progress(start, size);
          pending.add(checker.submit((int) (start / REGION)));
        }
        if (pending.size() < IN_FLIGHT && start < size) {
          continue;
        }
        Outcome o = checker.await(pending.poll());
        data += o.data();
        switch (o.kind()) {
          case CHANGED -> skipped += o.length();
          case SAME -> compared += o.length();
          case DIFFERENT -> differing.set(o.region()); // a client may have written there since the changes were asked: decided below
          case ZEROS -> { } // both read zeros there
        }
      }
    }
    if (!differing.isEmpty()) {
      // Asked after every read above: a region that differed and is still not among the changes was
      // read unchanged since the switch (the source side is a snapshot), so the copy is wrong there.
      BitSet now = changedSinceSwitch(destination, volume, record);
      for (int r = differing.nextSetBit(0); r >= 0; r = differing.nextSetBit(r + 1)) {
        long start = (long) r * REGION;
        if (!now.get(r)) {
          throw new CorruptDataException("verification of the move of " + volume + " failed: the 1 MiB region at "
              + start + " differs between " + source.path() + " and " + destination.path()
              + " (CRC32C compared); the source volume is kept");
        }
        skipped += Math.min(REGION, size - start);
      }
    }
    progress.progress(size, size);
    return new long[] {compared, skipped, data};
  }

  /** What checking one region found: its kind, its length, and the bytes of data the source held there. */
  private record Outcome(int region, Kind kind, long length, long data) {}

  private enum Kind { CHANGED, ZEROS, SAME, DIFFERENT }

  /**
   * Checks regions on virtual threads, each with a pair of region buffers from a fixed pool. Never
   * interrupted (an interrupt closes the file channels a datastore shares): closing waits for the
   * checks still running.
   */
  private static final class Checker implements AutoCloseable {
    private final Volume old;
    private final Volume now;
    private final BitSet changed;
    private final IntToLongFunction copied;
    private final long size;
    private final BlockingQueue<ByteBuffer[]> buffers = new ArrayBlockingQueue<>(IN_FLIGHT);
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    Checker(Volume old, Volume now, BitSet changed, IntToLongFunction copied, long size) {
      this.old = old;
      this.now = now;
      this.changed = changed;
      this.copied = copied;
      this.size = size;
      for (int i = 0; i < IN_FLIGHT; i++) {
        buffers.add(new ByteBuffer[] {ByteBuffer.allocateDirect(REGION), ByteBuffer.allocateDirect(REGION)});
      }
    }

    Future<Outcome> submit(int region) {
      return threads.submit(() -> {
        ByteBuffer[] pair = buffers.take(); // never waits: at most IN_FLIGHT checks are submitted at once
        try {
          return check(region, pair);
        } finally {
          buffers.add(pair);
        }
      });
    }

    private Outcome check(int region, ByteBuffer[] pair) throws IOException {
      long start = (long) region * REGION;
      long length = Math.min(REGION, size - start);
      List<Extent> atSwitch = old.allocation(start, length);
      long data = 0;
      for (Extent e : atSwitch) {
        if (e.kind() == Extent.Kind.DATA) {
          data += e.length();
        }
      }
      if (changed.get(region)) { // read-only here: safe to share between the checks
        return new Outcome(region, Kind.CHANGED, length, data);
      }
      if (RegionCopy.firstOf(atSwitch, true, -1) < 0 && RegionCopy.firstOf(now.allocation(start, length), true, -1) < 0) {
        return new Outcome(region, Kind.ZEROS, length, data);
      }
      long before = copied.applyAsLong(region);
      if (before < 0) {
        before = crc(old, start, length, pair[0]);
      }
      boolean same = before == crc(now, start, length, pair[1]);
      return new Outcome(region, same ? Kind.SAME : Kind.DIFFERENT, length, data);
    }

    /** Returns the outcome of a check, or throws what it failed with. */
    Outcome await(Future<Outcome> f) throws IOException {
      try {
        return f.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("the verification was interrupted");
      } catch (ExecutionException e) {
        Throwable c = e.getCause();
        if (c instanceof IOException io) {
          throw io;
        }
        if (c instanceof RuntimeException re) {
          throw re;
        }
        throw new IOException("verification failed: " + c, c);
      }
    }

    @Override
    public void close() {
      threads.close(); // waits for the checks still running
    }
  }

  /** Returns the regions of the destination's volume that changed since the switch-over. */
  private static BitSet changedSinceSwitch(Datastore destination, String volume, MoveRecord record) throws IOException {
    BitSet out = new BitSet();
    for (Extent e : destination.changedAreas(volume, record.switchChangeId(), 0, record.size()).extents()) {
      if (e.length() > 0) {
        out.set((int) (e.offset() / REGION), (int) ((e.end() - 1) / REGION) + 1);
      }
    }
    return out;
  }

  /** Returns the CRC32C of {@code length} bytes of {@code v} at {@code offset}, read into {@code buffer}. */
  static long crc(Volume v, long offset, long length, ByteBuffer buffer) throws IOException {
    ByteBuffer b = buffer.clear().limit((int) length);
    v.read(offset, b);
    CRC32C c = new CRC32C();
    c.update(b.flip());
    return c.getValue();
  }
}
