package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.testing.ModelRun;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The switch-over reads the source's committed change-log rows before it holds writes and only
 * the newer ones inside the hold. Seeded client writes and flushes (each flush a generation; past
 * the recent window, flushes merge older rows) run during the copy pass and right between that
 * read and the hold: the destination must end as the model, and a change id pinned before the move
 * must be answered on the destination with every block changed since and only blocks touched since.
 */
class SwitchHistoryRaceTest {
  private static final int SIZE = 24 << 20;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  @Test
  void writesAndFlushesBetweenTheHistoryReadAndTheHoldKeepDataAndChangeIds(@TempDir Path dir) {
    ModelRun.seeds(CI ? 3 : 8).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("r" + seed), run)));
  }

  private static void runOnce(Path dir, ModelRun run) throws Exception {
    DatastoreOptions options = DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
    try (Datastore a = Datastore.create(dir.resolve("a"), options, 0);
        Datastore b = Datastore.create(dir.resolve("b"), options, 0)) {
      ModelClient client = new ModelClient(run, a.createVolume("v", SIZE), SIZE);
      client.fill(30);
      // Many generations before the move, so that the change log has merged rows and pins between them.
      int before = 10 + run.random().nextInt(30);
      int pinAt = run.random().nextInt(before);
      String pinned = null;
      byte[] atPin = null;
      for (int g = 0; g < before; g++) {
        client.ops(1);
        client.flush();
        if (g == pinAt) {
          pinned = a.changeId("v");
          a.pinChangeId(pinned, "backup");
          atPin = client.model.clone();
          client.forgetTouched();
        }
      }
      // Between the read and the hold: none, a few, or more flushes than the recent window keeps unmerged.
      int flushes = switch (run.random().nextInt(3)) {
        case 0 -> 0;
        case 1 -> 1 + run.random().nextInt(4);
        default -> 17 + run.random().nextInt(20);
      };
      run.context("pin at generation step " + pinAt + " of " + before + ", " + flushes + " flushes before the hold");
      VolumeMove move = VolumeMove.start(a, "v", b, 0, false).onSwitchPrepared(() -> {
        try {
          for (int i = 0; i < flushes; i++) {
            client.ops(1 + run.random().nextInt(2));
            client.flush();
          }
          client.ops(2); // unflushed at the hold: the switch's own row
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      move.run((done, total) -> {
        try {
          client.ops(1);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }, () -> false);
      client.ops(3);
      client.flush();
      client.assertSame(b.volume("v"), "the destination");
      List<Extent> changed = b.changedAreas("v", pinned, 0, SIZE).extents();
      byte[] now = ModelClient.readAll(b.volume("v"));
      for (int blk = 0; blk < SIZE / ModelClient.BLOCK; blk++) {
        int at = blk * ModelClient.BLOCK;
        boolean listed = changed.stream().anyMatch(e -> e.offset() <= at && at < e.end());
        if (!Arrays.equals(now, at, at + ModelClient.BLOCK, atPin, at, at + ModelClient.BLOCK)) {
          assertThat(listed).as("block %d, changed since the pinned change id, is in its changed areas", blk).isTrue();
        }
        if (listed) {
          assertThat(client.touched.get(blk)).as("block %d, in the changed areas, was touched since the pin", blk).isTrue();
        }
      }
      assertThat(b.changePins("v")).hasSize(1);
      assertThat(a.hasVolume("v")).isFalse();
      assertThat(b.check().problems()).isEmpty();
    }
  }
}
