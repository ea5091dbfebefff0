package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.server.TestDaemon;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Many clients at once: each write succeeds exactly once, and readers see consistent lists meanwhile. */
class ConcurrentRequestsTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final int CLIENTS = CI ? 4 : 12;
  private static final int SNAPSHOTS = CI ? 5 : 15;

  @TempDir Path tmp;

  @Test
  void concurrentWritersAndReadersAllGetTheirAnswer() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"));
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"shared\", \"size\": 65536}");
      List<Future<List<String>>> results = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        String volume = "v" + c;
        results.add(pool.submit(() -> {
          List<String> wrong = new ArrayList<>();
          expect(wrong, d.unix("POST", "/api/v1/volumes", "{\"name\": \"" + volume + "\", \"size\": 65536}"), 201);
          for (int s = 0; s < SNAPSHOTS; s++) {
            expect(wrong, d.unix("POST", "/api/v1/volumes/" + volume + "/snapshots", "{\"name\": \"s" + s + "\"}"),
                201);
            // Every client races for the same snapshot name on the shared volume: one wins each.
            TestDaemon.Reply race = d.unix("POST", "/api/v1/volumes/shared/snapshots", "{\"name\": \"r" + s + "\"}");
            if (race.status() != 201 && race.status() != 409) {
              wrong.add("race " + race.status() + " " + race.body());
            }
            expect(wrong, d.unix("GET", "/api/v1/volumes", null), 200);
            expect(wrong, d.unix("GET", "/api/v1/snapshots", null), 200);
          }
          expect(wrong, d.unix("POST", "/api/v1/volumes/" + volume + "/snapshots/s0/clones",
              "{\"name\": \"" + volume + "-c\", \"count\": 3}"), 201);
          expect(wrong, d.unix("DELETE", "/api/v1/volumes/" + volume + "/snapshots/s1", null), 204);
          return wrong;
        }));
      }
      for (Future<List<String>> f : results) {
        assertThat(f.get()).isEmpty();
      }
      Datastore store = d.daemon().byName(null).store();
      assertThat(store.volumes()).hasSize(1 + CLIENTS * 4);
      assertThat(store.snapshots("shared")).hasSize(SNAPSHOTS);
      for (int c = 0; c < CLIENTS; c++) {
        assertThat(store.snapshots("v" + c)).hasSize(SNAPSHOTS - 1);
      }
      assertThat(store.check().clean()).isTrue();
    }
  }

  @Test
  void aVolumeDeletedWhileSnapshotsAreTakenNeverLosesOneOfThem() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"));
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int round = 0; round < (CI ? 3 : 10); round++) {
        String volume = "r" + round;
        d.unix("POST", "/api/v1/volumes", "{\"name\": \"" + volume + "\", \"size\": 65536}");
        List<Future<Integer>> snapshots = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
          String body = "{\"name\": \"s" + s + "\"}";
          snapshots.add(pool.submit(() -> d.unix("POST", "/api/v1/volumes/" + volume + "/snapshots", body).status()));
        }
        int deleted = d.unix("DELETE", "/api/v1/volumes/" + volume, null).status();
        int created = 0;
        for (Future<Integer> f : snapshots) {
          int status = f.get();
          assertThat(status).isIn(201, 404);
          created += status == 201 ? 1 : 0;
        }
        // A snapshot that was taken existed when the delete looked (then 409) or came after it (then 404).
        assertThat(deleted).isIn(204, 409);
        if (deleted == 204) {
          assertThat(created).as("snapshots acknowledged, then deleted with their volume").isZero();
        } else {
          assertThat(d.daemon().byName(null).store().snapshots(volume)).hasSize(created);
        }
      }
    }
  }

  private static void expect(List<String> wrong, TestDaemon.Reply r, int status) {
    if (r.status() != status) {
      wrong.add(r.status() + " instead of " + status + ": " + r.body());
    }
  }
}
