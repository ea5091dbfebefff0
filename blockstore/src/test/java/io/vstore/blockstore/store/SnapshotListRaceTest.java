package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Listings while snapshots and clones come and go: each list is a consistent one (found by the
 * daemon's load test, where a snapshot deleted between the listing and the computing of its
 * figures, or a clone and then its parent snapshot, made the list fail with an
 * IndexOutOfBoundsException).
 */
final class SnapshotListRaceTest {
  @TempDir Path tmp;

  /** One writer's work: {@code rounds} steps of changes, numbered by {@code writer}. */
  @FunctionalInterface
  interface Changes {
    void run(int writer) throws Exception;
  }

  /** One reader's check, repeated until the writers are done. */
  @FunctionalInterface
  interface Listing {
    void check() throws Exception;
  }

  @Test
  void listingWhileSnapshotsComeAndGoNeverFails() throws Exception {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), DatastoreOptions.defaults(), 0);
        Volume v = ds.createVolume("vm1", 64L << 20)) {
      int rounds = Workloads.iterations(200, 60);
      race(4, id -> {
        for (int i = 0; i < rounds; i++) {
          v.write((long) (i % 256) * 4096, ByteBuffer.wrap(new byte[4096]).put(0, (byte) (i + 1)));
          ds.createSnapshot("vm1", "s" + id + "-" + i);
          ds.deleteSnapshot("vm1", "s" + id + "-" + i);
        }
      }, () -> {
        for (SnapshotInfo s : ds.snapshots("vm1")) {
          assertThat(s.volume()).isEqualTo("vm1");
        }
      });
      assertThat(ds.snapshots("vm1")).isEmpty();
    }
  }

  @Test
  void listingEveryVolumeWhileClonesAndTheirSnapshotsComeAndGoNeverFails() throws Exception {
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), DatastoreOptions.defaults(), 0)) {
      ds.createVolume("vm1", 64L << 20).close();
      int rounds = Workloads.iterations(150, 40);
      // The daemon's load: snapshot, clone, delete the clone, delete the snapshot.
      race(3, id -> {
        for (int i = 0; i < rounds; i++) {
          String snap = "s" + id + "-" + i;
          ds.createSnapshot("vm1", snap);
          for (Volume c : ds.cloneSnapshot("vm1", snap, List.of("c" + id + "-" + i))) {
            c.close();
          }
          ds.deleteVolume("c" + id + "-" + i);
          ds.deleteSnapshot("vm1", snap);
        }
      }, () -> {
        assertThat(ds.volumes()).extracting(VolumeInfo::name).contains("vm1");
        for (SnapshotInfo s : ds.snapshots()) {
          assertThat(s.volume()).isEqualTo("vm1");
        }
      });
      assertThat(ds.volumes()).hasSize(1);
      assertThat(ds.snapshots()).isEmpty();
    }
  }

  /** Runs {@code n} writers of {@code changes} against {@code n} readers repeating {@code listing}; rethrows what fails. */
  private static void race(int n, Changes changes, Listing listing) throws Exception {
    AtomicBoolean done = new AtomicBoolean();
    // Platform threads: busy readers on virtual threads could keep the writers off the carriers.
    try (var pool = Executors.newFixedThreadPool(2 * n)) {
      List<Future<?>> writers = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        int id = t;
        writers.add(pool.submit(() -> {
          changes.run(id);
          return null;
        }));
      }
      List<Future<Integer>> readers = new ArrayList<>();
      for (int t = 0; t < n; t++) {
        readers.add(pool.submit(() -> {
          int lists = 0;
          while (!done.get()) {
            listing.check();
            lists++;
          }
          return lists;
        }));
      }
      try {
        for (Future<?> f : writers) {
          f.get();
        }
      } finally {
        done.set(true);
      }
      for (Future<Integer> f : readers) {
        assertThat(f.get()).isPositive();
      }
    }
  }
}
