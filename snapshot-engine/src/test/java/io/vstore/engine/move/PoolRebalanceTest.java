package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.ModelRun;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.DesktopPools;
import io.vstore.engine.Inventory;
import io.vstore.engine.InventoryException;
import io.vstore.engine.PoolPlacement;
import io.vstore.engine.PoolTransfer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pool rebalance} between two datastores of one process: a pool whose desktops wrote over
 * their base (data, and zeros over the base's data) moves to the other datastore, which then holds
 * the base once plus each desktop's writes; every disk reads back byte for byte as a model says.
 * Seeded runs fail the move at a random desktop (a crash: the record stays) and take it up again
 * after reopening both datastores; a cancel stops after the desktop being moved, every desktop then
 * wholly on one side; both datastores check clean.
 */
class PoolRebalanceTest {
  private static final int DISK = 4 << 20;
  private static final int BASE_DATA = 2 << 20;
  private static final int DESKTOPS = 4;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  @TempDir Path tmp;

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  /** Two datastores, the pool in the first's inventory, and what every disk of the pool should read. */
  private static final class World implements AutoCloseable {
    final Path pa;
    final Path pb;
    Datastore a;
    Datastore b;
    Inventory ia;
    final Map<String, byte[]> model = new HashMap<>();

    World(Path dir) throws IOException {
      pa = dir.resolve("a");
      pb = dir.resolve("b");
      a = Datastore.create(pa, options(), 0);
      b = Datastore.create(pb, options(), 0);
      ia = Inventory.open(a);
    }

    void reopen() throws IOException {
      a.close();
      b.close();
      a = Datastore.open(pa, options());
      b = Datastore.open(pb, options());
      ia = Inventory.open(a);
    }

    Function<String, Datastore> resolver() {
      return dir -> dir.equals(DesktopPools.directory(pa)) ? a : dir.equals(DesktopPools.directory(pb)) ? b : null;
    }

    Datastore of(Desktop d) {
      return d.datastore() == null ? a : resolver().apply(d.datastore());
    }

    /** Builds VM gold (two disks, random data in each), pool lab of it, and lets every desktop write. */
    void build(Random r) throws IOException {
      ia.vms().create("gold", List.of((long) DISK, (long) DISK), null);
      for (String disk : List.of("gold-disk0", "gold-disk1")) {
        byte[] base = new byte[DISK];
        byte[] data = new byte[BASE_DATA];
        r.nextBytes(data);
        System.arraycopy(data, 0, base, 0, BASE_DATA);
        write(a, disk, 0, data);
        model.put(disk, base);
      }
      ia.vms().snapshot("gold", "v1", null);
      DesktopPool p = ia.pools().create("lab", "gold", "v1", DESKTOPS, 1 << 20, 1 << 20);
      for (Desktop d : p.desktops()) {
        for (int k = 0; k < 2; k++) {
          model.put(d.systemDisks().get(k), model.get("gold-disk" + k).clone());
        }
        model.put(d.persistentDisk(), new byte[1 << 20]);
        model.put(d.disposableDisk(), new byte[1 << 20]);
        // Own data over the base and past it, zeros over the base's data.
        writeModel(a, d.systemDisks().get(0), r.nextInt(DISK / 4096 - 16) * 4096L, random(r, 64 << 10));
        writeModel(a, d.systemDisks().get(1), r.nextInt(BASE_DATA / 4096 - 16) * 4096L, new byte[64 << 10]);
        writeModel(a, d.persistentDisk(), 0, random(r, 64 << 10));
        writeModel(a, d.disposableDisk(), 4096, random(r, 8192));
      }
    }

    void writeModel(Datastore ds, String volume, long offset, byte[] data) throws IOException {
      write(ds, volume, offset, data);
      System.arraycopy(data, 0, model.get(volume), (int) offset, data.length);
    }

    /** Checks every disk of every desktop where the record says it lives, and that it lives nowhere else. */
    void checkContents() throws IOException {
      for (Desktop d : ia.pools().get("lab").desktops()) {
        Datastore here = of(d);
        Datastore other = here == a ? b : a;
        for (String v : d.volumes()) {
          assertThat(read(here, v)).as("%s in %s", v, here.path()).isEqualTo(model.get(v));
          assertThat(other.hasVolume(v)).as("%s also in %s", v, other.path()).isFalse();
        }
        for (String disk : d.systemDisks()) {
          assertThat(here.volumeInfo(disk).parent()).as("%s is a linked clone", disk).endsWith("@replica");
        }
      }
      assertThat(a.check().problems()).isEmpty();
      assertThat(b.check().problems()).isEmpty();
    }

    @Override
    public void close() throws IOException {
      a.close();
      b.close();
    }
  }

  private static byte[] random(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static void write(Datastore ds, String volume, long offset, byte[] data) throws IOException {
    try (Volume v = ds.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  private static byte[] read(Datastore ds, String volume) throws IOException {
    try (Volume v = ds.volume(volume, true)) {
      ByteBuffer buf = ByteBuffer.allocate((int) v.size());
      v.read(0, buf);
      return buf.array();
    }
  }

  /** The mover: a volume with its history, as {@code migrate} moves it. */
  private static long move(Datastore from, String volume, Datastore to) throws IOException {
    return VolumeMove.start(from, volume, to, 0, false).run((done, total) -> { }, () -> false).copiedBytes();
  }

  @Test
  void aWholePoolMovesWithOneCopyOfItsBase() throws IOException {
    try (World w = new World(tmp)) {
      w.build(new Random(7));
      long deltas = 0;
      for (Desktop d : w.ia.pools().get("lab").desktops()) {
        for (String v : d.volumes()) {
          deltas += w.a.volumeInfo(v).allocated();
        }
      }
      w.ia.pools().setDatastores("lab", List.of(w.pb.toString()));
      PoolPlacement.Plan plan = PoolRebalance.plan(w.ia, w.resolver(), "lab");
      assertThat(plan.moves()).hasSize(DESKTOPS).allMatch(m -> m.to().equals(DesktopPools.directory(w.pb)));
      PoolRebalance run = PoolRebalance.start(w.ia, w.resolver(), "lab", plan);
      assertThatThrownBy(() -> w.ia.pools().refresh("lab", null)).isInstanceOf(InventoryException.class)
          .hasMessageContaining("unfinished rebalance");
      PoolRebalance.Result r = run.run(PoolRebalanceTest::move, new PoolRebalance.Listener() { }, () -> false);
      assertThat(r.moved()).hasSize(DESKTOPS);
      assertThat(r.stopped()).isFalse();
      assertThat(r.replicasCopied()).containsExactly(DesktopPools.directory(w.pb));
      assertThat(w.ia.pools().get("lab").pending()).isNull();
      w.checkContents();
      // The base is copied once (2 x 2 MiB of data), not once per desktop (would be 16 MiB).
      long base = 2L * BASE_DATA;
      System.out.printf("pool of %d desktops moved: copied %d bytes, destination allocates %d; base %d, desktops'"
          + " own %d, base per desktop would be %d%n", DESKTOPS, r.bytesCopied(), w.b.info().allocated(), base, deltas,
          DESKTOPS * base);
      assertThat(r.bytesCopied()).isLessThan(base + 2 * deltas + (1 << 20));
      assertThat(w.b.info().allocated()).isLessThan((long) (1.1 * (base + deltas)) + (256 << 10));
      assertThat(w.b.info().allocated()).isGreaterThanOrEqualTo(base);

      // Spread pools refuse what works on one datastore only, with the way out.
      assertThatThrownBy(() -> w.ia.pools().refresh("lab", null)).isInstanceOf(InventoryException.class)
          .hasMessageContaining("bring them back first");
      // And back home: the replica copy in b goes with the last desktop.
      w.ia.pools().setDatastores("lab", List.of(w.pa.toString()));
      PoolRebalance.start(w.ia, w.resolver(), "lab", PoolRebalance.plan(w.ia, w.resolver(), "lab"))
          .run(PoolRebalanceTest::move, new PoolRebalance.Listener() { }, () -> false);
      w.checkContents();
      assertThat(w.b.volumes()).isEmpty();
      w.ia.pools().refresh("lab", null);
    }
  }

  @Test
  void aCancelStopsAfterTheDesktopBeingMoved() throws IOException {
    try (World w = new World(tmp)) {
      w.build(new Random(11));
      w.ia.pools().setDatastores("lab", List.of(w.pb.toString()));
      PoolRebalance run = PoolRebalance.start(w.ia, w.resolver(), "lab", PoolRebalance.plan(w.ia, w.resolver(), "lab"));
      int[] started = new int[1];
      PoolRebalance.Result r = run.run(PoolRebalanceTest::move, new PoolRebalance.Listener() {
        @Override
        public void desktopStarted(PoolTransfer.Step step, int index, int count) {
          started[0]++;
        }
      }, () -> started[0] >= 1);
      assertThat(r.stopped()).isTrue();
      assertThat(r.moved()).hasSize(1);
      DesktopPool p = w.ia.pools().get("lab");
      assertThat(p.pending()).isNull();
      assertThat(p.desktops().stream().filter(d -> d.datastore() != null).count()).isEqualTo(1);
      w.checkContents();
    }
  }

  @Test
  void aRebalanceCutShortIsTakenUpAfterReopening() {
    ModelRun.seeds(CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> {
      try (World w = new World(tmp.resolve("s" + seed))) {
        Random r = run.random();
        w.build(r);
        w.ia.pools().setDatastores("lab", List.of(w.pb.toString()));
        int failAt = r.nextInt(DESKTOPS * 2);
        run.context("failing at mover call " + failAt);
        int[] calls = new int[1];
        PoolRebalance first = PoolRebalance.start(w.ia, w.resolver(), "lab",
            PoolRebalance.plan(w.ia, w.resolver(), "lab"));
        run.step(0, "rebalance failing");
        assertThatThrownBy(() -> first.run((from, volume, to) -> {
          if (calls[0]++ == failAt) {
            throw new IOException("injected failure moving " + volume);
          }
          return move(from, volume, to);
        }, new PoolRebalance.Listener() { }, () -> false)).hasMessageContaining("injected");
        assertThat(PoolTransfer.pending(w.ia, "lab")).hasSize(DESKTOPS);
        run.step(1, "reopen and take up");
        w.reopen();
        assertThatThrownBy(() -> w.ia.pools().delete("lab")).hasMessageContaining("unfinished rebalance");
        PoolRebalance again = PoolRebalance.start(w.ia, w.resolver(), "lab",
            PoolRebalance.plan(w.ia, w.resolver(), "lab"));
        assertThat(again.steps()).hasSize(DESKTOPS);
        again.run(PoolRebalanceTest::move, new PoolRebalance.Listener() { }, () -> false);
        run.finish("checks");
        assertThat(w.ia.pools().get("lab").desktops()).allMatch(d -> d.datastore() != null);
        w.checkContents();
      }
    }));
  }
}
