package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreCrashes;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random client I/O interleaved with the copy pass (between regions, at the switch and
 * during verification) of a real move between two datastores; the destination must end as the
 * model. Also cancellation at a random point, and a crash of both datastores at a random point
 * followed by reopening and resuming.
 */
class VolumeMoveModelTest {
  private static final int SIZE = 40 << 20;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  /** Thrown out of the listener once the test has crashed both datastores. */
  private static final class Crashed extends RuntimeException {
    Crashed() {
      super("crashed", null, false, false);
    }
  }

  private enum Mode { COMPLETE, CANCEL, CRASH, CRASH_AT_SWITCH, CRASH_BEFORE_SWITCH_WRITE, FLUSH_RACING_SWITCH_WRITE }

  /** The listener of one run: client operations at each step, and the cancel or crash point. */
  private static final class Steps implements VolumeMove.Listener {
    final ModelClient client;
    final int stopAt;
    final Mode mode;
    final Datastore[] crashOnStop;
    int calls;
    boolean stopped;
    boolean sawSwitch;

    Steps(ModelClient client, int stopAt, Mode mode, Datastore... crashOnStop) {
      this.client = client;
      this.stopAt = stopAt;
      this.mode = mode;
      this.crashOnStop = crashOnStop;
    }

    @Override
    public void progress(long done, long total) {
      try {
        client.ops(2);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      if (mode != Mode.COMPLETE && !stopped && ++calls == stopAt) {
        stopped = true;
        if (mode == Mode.CANCEL) {
          throw new CancellationException("cancelled by the test");
        }
        try {
          for (Datastore d : crashOnStop) {
            DatastoreCrashes.crash(d);
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        throw new Crashed();
      }
    }

    @Override
    public void switched(MoveRecord record) throws IOException {
      sawSwitch = true;
      client.ops(4); // through the forwarding handle now
    }
  }

  @Test
  void clientWritesRacingTheCopyPassEndAsTheModel(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("c" + seed), run,
        Mode.COMPLETE)));
  }

  @Test
  void cancelAtARandomPointLeavesTheSourceAsWithoutTheMove(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("x" + seed), run,
        Mode.CANCEL)));
  }

  @Test
  void crashAtARandomPointResumesAndEndsAsTheModel(@TempDir Path dir) {
    ModelRun.seeds(CI ? 3 : 8).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("k" + seed), run,
        Mode.CRASH)));
  }

  /**
   * Both datastores crashed right after the switch's commit, before the source's last writes are
   * flushed (and after a few client operations through the forwarded handle): the destination is
   * authoritative, the resume verifies against a source that lacks those writes and finishes.
   */
  @Test
  void crashBetweenTheSwitchCommitAndTheSourceFlushResumesAndEndsAsTheModel(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("s" + seed), run,
        Mode.CRASH_AT_SWITCH)));
  }

  /**
   * Both datastores crashed after the release, before the switch's commit is written (with client
   * writes through the forwarded handle meanwhile): the copy is not published, the source is
   * authoritative with every flushed byte, and the resumed move ends as the model.
   */
  @Test
  void crashBeforeTheSwitchCommitIsWrittenLeavesTheSourceAuthoritative(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("w" + seed), run,
        Mode.CRASH_BEFORE_SWITCH_WRITE)));
  }

  /**
   * A client's flush through the forwarded handle issued before the switch's commit is written
   * waits for it, and once it returns a crash leaves the destination authoritative with what it
   * flushed: the flush cannot be acknowledged on a copy that a crash would unpublish.
   */
  @Test
  void aFlushRacingTheSwitchCommitWaitsForItAndSurvivesACrash(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOnce(dir.resolve("r" + seed), run,
        Mode.FLUSH_RACING_SWITCH_WRITE)));
  }

  /**
   * A client thread writing without pause while the copiers run on their own threads (the listener
   * does nothing): a write racing a copier's unlocked copy of a region must end up in the copy.
   */
  @Test
  void aClientThreadWritingThroughTheWholeMoveEndsAsTheModel(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> clientThreadRun(dir.resolve("t" + seed), run,
        options())));
  }

  /**
   * The same with background flushes running all the time on both sides (a flush threshold of a
   * few changes), so that the switch-over pauses them while one may be syncing and the client's
   * writes race the pause, the hold and the resume: every acknowledged write ends on the destination.
   */
  @Test
  void writesRacingTheSwitchWhileBackgroundFlushesRunEndAsTheModel(@TempDir Path dir) {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> clientThreadRun(dir.resolve("f" + seed), run,
        options().withFlushThreshold(16))));
  }

  private static void clientThreadRun(Path dir, ModelRun run, DatastoreOptions options) throws Exception {
    try (Datastore a = Datastore.create(dir.resolve("a"), options, 0);
        Datastore b = Datastore.create(dir.resolve("b"), options, 0)) {
      ModelClient client = new ModelClient(run, a.createVolume("v", SIZE), SIZE);
      client.fill(60);
      VolumeMove move = VolumeMove.start(a, "v", b, 0, false).checkpointEvery(4 << 20);
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
      Thread writer = Thread.ofPlatform().start(() -> {
        try {
          while (!stop.get()) {
            client.ops(1);
          }
        } catch (Throwable t) {
          failed.set(t);
        }
      });
      try {
        move.run((done, total) -> {}, () -> false);
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThat(failed.get()).as("the client's I/O during the move").isNull();
      client.assertSame(b.volume("v"), "the destination");
      assertThat(a.hasVolume("v")).isFalse();
      assertThat(b.check().problems()).isEmpty();
    }
  }

  private static void runOnce(Path dir, ModelRun run, Mode mode) throws Exception {
    Path pa = dir.resolve("a");
    Path pb = dir.resolve("b");
    Datastore a = Datastore.create(pa, options(), 0);
    Datastore b = Datastore.create(pb, options(), 0);
    try {
      Volume handle = a.createVolume("v", SIZE);
      ModelClient client = new ModelClient(run, handle, SIZE);
      client.fill(40);
      // Half the runs move a history: snapshots whose content and change ids must move along.
      int snapshots = run.random().nextBoolean() ? 0 : 1 + run.random().nextInt(2);
      List<byte[]> snapshotContent = new java.util.ArrayList<>();
      List<String> snapshotIds = new java.util.ArrayList<>();
      for (int i = 0; i < snapshots; i++) {
        client.flush();
        snapshotIds.add(a.createSnapshot("v", "s" + i).changeId());
        snapshotContent.add(client.model.clone());
        client.fill(10);
      }
      VolumeMove move = VolumeMove.start(a, "v", b, 0, false).checkpointEvery(4 << 20);
      // Copy-pass steps are about 40; verification adds about 40 more.
      boolean atSwitch = mode == Mode.CRASH_AT_SWITCH || mode == Mode.CRASH_BEFORE_SWITCH_WRITE
          || mode == Mode.FLUSH_RACING_SWITCH_WRITE;
      int stopAt = atSwitch ? 0 : 1 + run.random().nextInt(mode == Mode.CANCEL ? 40 : 80);
      Steps steps = new Steps(client, stopAt, mode, a, b);
      run.context(atSwitch ? "move, " + mode : "move, stop at listener call " + stopAt);
      if (mode == Mode.CRASH_AT_SWITCH) {
        Datastore sa = a;
        Datastore sb = b;
        move.onSwitchCommitted(() -> {
          try {
            client.ops(2); // through the forwarded handle: unflushed ones may be lost, as in any crash
            DatastoreCrashes.crash(sa);
            DatastoreCrashes.crash(sb);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          throw new Crashed();
        });
      }
      if (mode == Mode.CRASH_BEFORE_SWITCH_WRITE) {
        Datastore sa = a;
        Datastore sb = b;
        move.onSwitchReleased(() -> {
          try {
            client.writes(3); // through the forwarded handle; a flush would wait for this thread's write
            DatastoreCrashes.crash(sa);
            DatastoreCrashes.crash(sb);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          throw new Crashed();
        });
      }
      if (mode == Mode.FLUSH_RACING_SWITCH_WRITE) {
        Datastore sa = a;
        Datastore sb = b;
        Thread[] flusher = new Thread[1];
        Throwable[] flushFailed = new Throwable[1];
        move.onSwitchReleased(() -> {
          try {
            client.writes(3);
            flusher[0] = Thread.ofPlatform().start(() -> {
              try {
                client.flush();
              } catch (Throwable t) {
                flushFailed[0] = t;
              }
            });
            flusher[0].join(100);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          } catch (InterruptedException e) {
            throw new AssertionError(e);
          }
          assertThat(flusher[0].isAlive()).as("a flush waits for the switch's commit, which is not written yet").isTrue();
        });
        move.onSwitchCommitted(() -> {
          try {
            flusher[0].join();
            assertThat(flushFailed[0]).as("the flush racing the switch's commit").isNull();
            DatastoreCrashes.crash(sa);
            DatastoreCrashes.crash(sb);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          } catch (InterruptedException e) {
            throw new AssertionError(e);
          }
          throw new Crashed();
        });
      }
      try {
        VolumeMove.Result r = move.run(steps, () -> mode == Mode.CRASH || atSwitch);
        assertThat(atSwitch).as("a move that switched over ran into the crash at its switch").isFalse();
        assertThat(mode != Mode.CRASH || !steps.stopped).isTrue();
        assertThat(r.copiedBytes()).isLessThanOrEqualTo(SIZE);
        if (mode == Mode.CANCEL && steps.stopped) {
          assertThat(steps.sawSwitch).as("a cancel after the switch-over lets the move finish").isTrue();
        }
      } catch (CancellationException e) {
        assertThat(mode).isEqualTo(Mode.CANCEL);
        client.ops(3); // the source serves on without the mirror
        client.assertSame(a.volume("v"), "the source after cancel");
        assertThat(b.hasVolume("v")).isFalse();
        assertThat(io.vstore.blockstore.store.VolumeTransplant.incoming(b)).isEmpty();
        assertThat(a.changePins("v")).isEmpty();
        assertThat(MoveRecord.pending(pa)).isEmpty();
        assertThat(a.check().problems()).isEmpty();
        return;
      } catch (Crashed e) {
        a = Datastore.open(pa, options());
        b = Datastore.open(pb, options());
        List<MoveRecord> pending = MoveRecord.pending(pa);
        assertThat(pending).hasSize(1);
        MoveRecord record = pending.getFirst();
        run.context("resumed " + record);
        if (mode == Mode.CRASH_BEFORE_SWITCH_WRITE) {
          assertThat(b.hasVolume("v")).as("the copy, its switch never written, is not published").isFalse();
        } else if (mode == Mode.FLUSH_RACING_SWITCH_WRITE) {
          assertThat(b.hasVolume("v")).as("the copy, whose switch a client's flush followed, is published").isTrue();
        }
        // The destination is authoritative once the switch's commit is durable, switched record or not.
        client.recover(b.hasVolume("v") ? b.volume("v") : a.volume("v"));
        VolumeMove resumed = VolumeMove.resume(a, b, record).checkpointEvery(4 << 20);
        client.device = a.hasVolume("v") ? a.volume("v") : b.volume("v");
        resumed.run(new Steps(client, 0, Mode.COMPLETE), () -> false);
      }
      client.ops(3);
      client.assertSame(b.volume("v"), "the destination");
      for (int i = 0; i < snapshots; i++) {
        ModelClient.assertSame(b.volume("v@s" + i), snapshotContent.get(i), "snapshot s" + i + " on the destination");
        // The change id taken before the move is answered after it, covering every block changed since.
        List<io.vstore.blockstore.Extent> changed = b.changedAreas("v", snapshotIds.get(i), 0, SIZE).extents();
        byte[] now = ModelClient.readAll(b.volume("v"));
        byte[] then = snapshotContent.get(i);
        for (int blk = 0; blk < SIZE / ModelClient.BLOCK; blk++) {
          int at = blk * ModelClient.BLOCK;
          if (!java.util.Arrays.equals(now, at, at + ModelClient.BLOCK, then, at, at + ModelClient.BLOCK)) {
            assertThat(changed.stream().anyMatch(e -> e.offset() <= at && at < e.end()))
                .as("block %d, changed since snapshot s%d, is in the changed areas of its change id", blk, i).isTrue();
          }
        }
      }
      assertThat(b.snapshots("v")).hasSize(snapshots);
      assertThat(a.hasVolume("v")).isFalse();
      assertThat(MoveRecord.pending(pa)).isEmpty();
      assertThat(b.changePins("v")).isEmpty();
      assertThat(a.check().problems()).isEmpty();
      assertThat(b.check().problems()).isEmpty();
    } finally {
      closeQuietly(a);
      closeQuietly(b);
    }
  }

  private static void closeQuietly(Datastore d) {
    try {
      d.close();
    } catch (IOException | RuntimeException e) {
      // a crashed datastore is already closed
    }
  }

  @Test
  void refusesClonesWithoutFlattenAndTheSameDatastore(@TempDir Path dir) throws Exception {
    try (Datastore a = Datastore.create(dir.resolve("a"), options(), 0);
        Datastore b = Datastore.create(dir.resolve("b"), options(), 0)) {
      a.createVolume("s", 1 << 20).close();
      a.createSnapshot("s", "one");
      a.cloneSnapshot("s", "one", List.of("c"));
      assertThatThrownBy(() -> VolumeMove.start(a, "c", b, 0, false)).hasMessageContaining("give --flatten");
      assertThatThrownBy(() -> VolumeMove.start(a, "c", a, 0, true)).hasMessageContaining("already in datastore");
      b.createVolume("c", 1 << 20).close();
      assertThatThrownBy(() -> VolumeMove.start(a, "c", b, 0, true)).hasMessageContaining("already has a volume c");
      assertThat(MoveRecord.pending(dir.resolve("a"))).isEmpty();
    }
  }
}
