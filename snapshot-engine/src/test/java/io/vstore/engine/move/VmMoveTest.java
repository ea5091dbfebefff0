package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.ModelRun;
import io.vstore.engine.Inventory;
import io.vstore.engine.InventoryException;
import io.vstore.engine.VmTransfer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CancellationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code migrate VM}: a VM's disks move one after another between two datastores and its inventory
 * record follows them. Seeded runs cancel at a random point (the disk being moved finishes, no
 * further one starts, every disk is wholly on one side), then another migrate in a random direction
 * ends the split; contents and VM snapshots are compared with a model, both datastores checked.
 * Also the refusals (linked clones without {@code --flatten}, snapshots with clones, a split VM's
 * other operations) and a stopping daemon's move taken up again after reopening.
 */
class VmMoveTest {
  private static final int DISK = 4 << 20;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  /** Two datastores with their inventories. */
  private static final class Pair implements AutoCloseable {
    final Path pa;
    final Path pb;
    Datastore a;
    Datastore b;
    Inventory ia;
    Inventory ib;

    Pair(Path dir) throws IOException {
      pa = dir.resolve("a");
      pb = dir.resolve("b");
      a = Datastore.create(pa, options(), 0);
      b = Datastore.create(pb, options(), 0);
      ia = Inventory.open(a);
      ib = Inventory.open(b);
    }

    void reopen() throws IOException {
      a.close();
      b.close();
      a = Datastore.open(pa, options());
      b = Datastore.open(pb, options());
      ia = Inventory.open(a);
      ib = Inventory.open(b);
    }

    @Override
    public void close() throws IOException {
      a.close();
      b.close();
    }
  }

  /** Cancels at the {@code cancelAt}-th progress report (never, if 0), counting the calls. */
  private static final class Steps implements VmMove.Listener {
    final int cancelAt;
    int calls;
    boolean cancelled;
    final List<String> started = new ArrayList<>();
    final List<String> moved = new ArrayList<>();

    Steps(int cancelAt) {
      this.cancelAt = cancelAt;
    }

    @Override
    public void progress(long done, long total) {
      assertThat(done).isBetween(0L, total);
      if (cancelled || cancelAt > 0 && ++calls >= cancelAt) {
        cancelled = true;
        throw new CancellationException("cancelled by the test");
      }
    }

    @Override
    public void diskStarted(String disk, int index, int count) {
      started.add(disk);
    }

    @Override
    public void diskMoved(String disk, VolumeMove.Result result) {
      moved.add(disk);
    }
  }

  @Test
  void aCancelledMoveLeavesEveryDiskOnOneSideAndAnotherMigrateEndsIt(@TempDir Path dir) {
    ModelRun.seeds(CI ? 3 : 8).forEach(seed -> ModelRun.run(seed, run -> {
      try (Pair p = new Pair(dir.resolve("s" + seed))) {
        Random random = run.random();
        int disks = 1 + random.nextInt(3);
        Map<String, byte[]> model = createVm(p.ia, "web", disks, random);
        Map<String, byte[]> atSnap = null;
        if (random.nextBoolean()) {
          p.ia.vms().snapshot("web", "s1", "");
          atSnap = copy(model);
          writeRandom(p.a, model, random, 6);
        }
        run.context("disks=" + disks + " snapshot=" + (atSnap != null));
        VmMove move = VmMove.start(p.ia, p.ib, "web", 0, false);
        Steps steps = new Steps(1 + random.nextInt(12));
        VmMove.Result r = move.run(steps, () -> false);
        // The disk being moved when the cancel came finished; no further one started.
        assertThat(steps.moved).isEqualTo(steps.started);
        long inB = model.keySet().stream().filter(p.b::hasVolume).count();
        for (String d : model.keySet()) {
          assertThat(p.a.hasVolume(d) ^ p.b.hasVolume(d)).as("disk %s on one side only", d).isTrue();
        }
        assertThat(r.split()).isEqualTo(inB > 0 && inB < disks);
        if (r.split()) {
          assertThatThrownBy(() -> p.ia.vms().snapshot("web", "s2", "")).isInstanceOf(InventoryException.class)
              .hasMessageContaining("split by a cancelled migrate");
          assertThatThrownBy(() -> p.ib.vms().delete("web")).isInstanceOf(InventoryException.class);
        }
        p.reopen(); // nothing to reconcile: a split VM's missing disks are not problems
        assertThat(p.ia.problems()).isEmpty();
        assertThat(p.ib.problems()).isEmpty();
        boolean back = r.split() && random.nextBoolean();
        Inventory from = back ? p.ib : p.ia;
        Inventory to = back ? p.ia : p.ib;
        if (inB == disks) {
          from = p.ib;
          to = p.ia; // a finished move: bring it back to check the way home too
        }
        VmMove.start(from, to, "web", 0, false).run(new Steps(0), () -> false);
        Datastore target = to.datastore();
        Datastore other = from.datastore();
        assertThat(to.vms().get("web").pending()).isNull();
        assertThat(from.vms().list()).isEmpty();
        for (Map.Entry<String, byte[]> e : model.entrySet()) {
          assertThat(other.hasVolume(e.getKey())).isFalse();
          assertThat(read(target, e.getKey())).as("disk %s", e.getKey()).isEqualTo(e.getValue());
          if (atSnap != null) {
            assertThat(read(target, e.getKey() + "@s1")).isEqualTo(atSnap.get(e.getKey()));
          }
        }
        // The VM works where it now is.
        to.vms().snapshot("web", "after", "");
        assertThat(to.vms().get("web").current()).isEqualTo("after");
        assertThat(p.a.check().problems()).isEmpty();
        assertThat(p.b.check().problems()).isEmpty();
      }
    }));
  }

  @Test
  void aStoppingDaemonKeepsTheMoveRunningAndItIsTakenUpAfterReopening(@TempDir Path dir) throws Exception {
    try (Pair p = new Pair(dir)) {
      Map<String, byte[]> model = createVm(p.ia, "db", 2, new Random(3));
      VmMove move = VmMove.start(p.ia, p.ib, "db", 0, false);
      // The daemon stops during the second disk's copy pass: that disk's move stays recorded. The
      // first progress report of a disk comes from its copy pass (which reports once more at its end,
      // before the switch), whether or not its copiers have already copied every region by then.
      boolean[] stopping = {false};
      assertThatThrownBy(() -> move.run(new VmMove.Listener() {
        private boolean second;

        @Override
        public void diskStarted(String disk, int index, int count) {
          second = index == 1;
        }

        @Override
        public void progress(long done, long total) {
          if (second) {
            stopping[0] = true;
            throw new CancellationException("stopping");
          }
        }
      }, () -> stopping[0])).isInstanceOf(CancellationException.class);
      p.reopen();
      assertThat(p.ia.problems()).isEmpty();
      VmTransfer.Plan plan = VmTransfer.of(p.ia.vms().get("db")).orElseThrow();
      assertThat(plan.running()).isTrue();
      assertThat(VolumeMove.pending(p.pa)).extracting(MoveRecord::volume).containsExactly("db-disk1");
      VmMove.Result r = VmMove.resume(p.ia, p.ib, plan).run(new Steps(0), () -> false);
      assertThat(r.skipped()).containsExactly("db-disk0");
      assertThat(r.split()).isFalse();
      assertThat(p.ib.vms().get("db").pending()).isNull();
      assertThat(p.ia.vms().list()).isEmpty();
      for (Map.Entry<String, byte[]> e : model.entrySet()) {
        assertThat(read(p.b, e.getKey())).isEqualTo(e.getValue());
      }
      assertThat(VolumeMove.pending(p.pa)).isEmpty();
      assertThat(p.b.check().problems()).isEmpty();
    }
  }

  @Test
  void linkedClonesMoveOnlyWithFlattenAndParentsWithClonesDoNotMove(@TempDir Path dir) throws Exception {
    try (Pair p = new Pair(dir)) {
      Map<String, byte[]> base = createVm(p.ia, "base", 1, new Random(5));
      p.ia.vms().snapshot("base", "gold", "");
      p.ia.vms().create("desk", List.of((long) DISK), Map.of(0, new SnapshotRef("base-disk0", "gold")), null);
      assertThatThrownBy(() -> VmMove.start(p.ia, p.ib, "desk", 0, false))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("cannot move VM desk: its disk desk-disk0 is a linked clone of base-disk0@gold, which stays in "
              + p.a.path() + ": give --flatten to move flat copies of what its disks read");
      assertThatThrownBy(() -> VmMove.start(p.ia, p.ib, "base", 0, false))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("its snapshots have linked clones desk-disk0 (of base-disk0@gold)");
      assertThat(p.ia.vms().get("desk").pending()).isNull();
      assertThat(p.ib.vms().list()).isEmpty();
      VmMove.start(p.ia, p.ib, "desk", 0, true).run(new Steps(0), () -> false);
      assertThat(p.b.volumeInfo("desk-disk0").parent()).isNull();
      assertThat(read(p.b, "desk-disk0")).isEqualTo(base.get("base-disk0"));
      assertThat(p.ib.vms().get("desk").disks()).containsExactly("desk-disk0");
      // With its clone gone from the source, the base moves too.
      VmMove.start(p.ia, p.ib, "base", 0, false).run(new Steps(0), () -> false);
      assertThat(read(p.b, "base-disk0@gold")).isEqualTo(base.get("base-disk0"));
      assertThat(p.a.check().problems()).isEmpty();
      assertThat(p.b.check().problems()).isEmpty();
    }
  }

  @Test
  void refusesWhatCannotMove(@TempDir Path dir) throws Exception {
    try (Pair p = new Pair(dir)) {
      createVm(p.ia, "web", 1, new Random(1));
      createVm(p.ib, "web", 1, new Random(2));
      assertThatThrownBy(() -> VmMove.start(p.ia, p.ib, "web", 0, false))
          .hasMessage("datastore " + p.pb.toAbsolutePath().normalize() + " already has a VM web");
      assertThatThrownBy(() -> VmMove.start(p.ia, p.ia, "web", 0, false))
          .hasMessageStartingWith("VM web is already in datastore");
      assertThatThrownBy(() -> VmMove.start(p.ia, p.ib, "nope", 0, false)).isInstanceOf(InventoryException.class)
          .hasMessageStartingWith("no VM nope");
    }
  }

  // ---- helpers ----

  private static Map<String, byte[]> createVm(Inventory inv, String name, int disks, Random random) throws IOException {
    List<Long> sizes = new ArrayList<>();
    for (int i = 0; i < disks; i++) {
      sizes.add((long) DISK);
    }
    Map<String, byte[]> model = new LinkedHashMap<>();
    for (String d : inv.vms().create(name, sizes, null).disks()) {
      model.put(d, new byte[DISK]);
    }
    writeRandom(inv.datastore(), model, random, 12);
    return model;
  }

  /** Writes {@code count} random 64 KiB pieces at random places of random disks, in the datastore and the model. */
  private static void writeRandom(Datastore ds, Map<String, byte[]> model, Random random, int count)
      throws IOException {
    List<String> names = new ArrayList<>(model.keySet());
    for (int i = 0; i < count; i++) {
      String d = names.get(random.nextInt(names.size()));
      byte[] piece = new byte[64 << 10];
      random.nextBytes(piece);
      int at = random.nextInt(DISK / piece.length) * piece.length;
      try (Volume v = ds.volume(d)) {
        v.write(at, ByteBuffer.wrap(piece));
        v.flush();
      }
      System.arraycopy(piece, 0, model.get(d), at, piece.length);
    }
  }

  private static Map<String, byte[]> copy(Map<String, byte[]> model) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    model.forEach((k, v) -> out.put(k, Arrays.copyOf(v, v.length)));
    return out;
  }

  private static byte[] read(Datastore ds, String spec) throws IOException {
    try (Volume v = ds.volume(spec, true)) {
      ByteBuffer b = ByteBuffer.allocate(DISK);
      v.read(0, b);
      return b.array();
    }
  }
}
