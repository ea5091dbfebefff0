package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.IoObserver;
import io.vstore.blockstore.OutOfRangeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a datastore's {@link IoObserver} hears, and the cleaner's running totals. */
class IoObserverTest {
  private record Call(String volume, IoObserver.Op op, long bytes, long nanos) {}

  /** Keeps every call, for the test thread to read. */
  private static final class Recording implements IoObserver {
    final List<Call> calls = new ArrayList<>();
    final List<String> deleted = new ArrayList<>();

    @Override
    public synchronized void completed(String volume, Op op, long bytes, long nanos) {
      calls.add(new Call(volume, op, bytes, nanos));
    }

    @Override
    public synchronized void volumeDeleted(String volume) {
      deleted.add(volume);
    }
  }

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  @Test
  void reportsEachCompletedOperationWithItsKindBytesAndVolume(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0)) {
      Recording rec = new Recording();
      try (Volume before = ds.createVolume("a", 1 << 20)) {
        before.write(0, ByteBuffer.allocate(4096)); // before an observer is set: not heard
      }
      ds.setIoObserver(rec);
      try (Volume a = ds.createVolume("b", 1 << 20); Volume snapHandle = ds.volume("a")) {
        a.write(8192, ByteBuffer.allocate(8192));
        a.read(0, ByteBuffer.allocate(4096));
        a.writeZeroes(0, 65536, true);
        a.discard(65536, 4096);
        a.flush();
        snapHandle.read(0, ByteBuffer.allocate(512));
        assertThatThrownBy(() -> a.write(2 << 20, ByteBuffer.allocate(4096))).isInstanceOf(OutOfRangeException.class);
      }
      List<Call> calls;
      synchronized (rec) {
        calls = List.copyOf(rec.calls);
      }
      // Closing the writable handle flushes through the datastore, not the handle: not an operation.
      assertThat(calls).extracting(Call::volume, Call::op, Call::bytes).containsExactly(
          org.assertj.core.groups.Tuple.tuple("b", IoObserver.Op.WRITE, 8192L),
          org.assertj.core.groups.Tuple.tuple("b", IoObserver.Op.READ, 4096L),
          org.assertj.core.groups.Tuple.tuple("b", IoObserver.Op.ZERO, 65536L),
          org.assertj.core.groups.Tuple.tuple("b", IoObserver.Op.DISCARD, 4096L),
          org.assertj.core.groups.Tuple.tuple("b", IoObserver.Op.FLUSH, 0L),
          org.assertj.core.groups.Tuple.tuple("a", IoObserver.Op.READ, 512L));
      assertThat(calls).allSatisfy(c -> assertThat(c.nanos()).isNotNegative());

      ds.deleteVolume("b");
      assertThat(rec.deleted).containsExactly("b");

      ds.setIoObserver(null);
      try (Volume a = ds.volume("a")) {
        a.read(0, ByteBuffer.allocate(4096));
      }
      assertThat(rec.calls).hasSize(calls.size());
    }
  }

  @Test
  void aPlannedReadIsReportedWhenItFinishes(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options(), 0); Volume v = ds.createVolume("v", 1 << 20)) {
      Recording rec = new Recording();
      ds.setIoObserver(rec);
      ByteBuffer dst = ByteBuffer.allocateDirect(8192);
      ReadPlan plan = v.planRead(0, dst, new ReadPlan.Scratch() {
        @Override
        public ByteBuffer acquire(int bytes) {
          return ByteBuffer.allocateDirect(bytes);
        }

        @Override
        public void release(ByteBuffer buffer) {}
      });
      assertThat(plan).as("a direct buffer of whole blocks is plannable").isNotNull();
      assertThat(rec.calls).as("not finished yet").isEmpty();
      assertThat(plan.fileReads()).as("a never-written range needs no file reads").isEmpty();
      plan.finish(new int[0]);
      assertThat(rec.calls).containsExactly(new Call("v", IoObserver.Op.READ, 8192, rec.calls.getFirst().nanos()));
    }
  }

  @Test
  void cleanerTotalsAddUpEveryPass(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), options().withSegmentBytes(4L << 20), 0)) {
      assertThat(ds.cleanerStats()).isEqualTo(new CleanerStats(0, 0, 0, 0));
      try (Volume v = ds.createVolume("v", 16 << 20)) {
        byte[] data = new byte[1 << 20];
        new java.util.Random(1).nextBytes(data); // incompressible, so the segments fill
        for (int round = 0; round < 3; round++) {
          for (long off = 0; off < (8 << 20); off += data.length) {
            v.write(off, ByteBuffer.wrap(data));
          }
          v.flush();
        }
      }
      CleanerReport first = ds.clean();
      CleanerReport second = ds.clean();
      CleanerStats totals = ds.cleanerStats();
      assertThat(first.segmentsCleaned()).as("overwritten segments are mostly dead").isPositive();
      assertThat(totals).isEqualTo(new CleanerStats(2, first.segmentsCleaned() + second.segmentsCleaned(),
          first.bytesMoved() + second.bytesMoved(), first.bytesReclaimed() + second.bytesReclaimed()));
    }
  }
}
