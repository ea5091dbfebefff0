package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Desktop;
import io.vstore.engine.DesktopPools;
import io.vstore.engine.Inventory;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobInfo;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore pool rebalance} in a daemon owning two datastores: the plan printed by a dry run
 * (CLI and REST) moves nothing; an exported system disk refuses the rebalance before anything
 * moves; the REST job moves the pool's desktops to the datastore it may use, every disk reading
 * back byte for byte, the destination holding the base once plus the desktops' own data.
 */
final class PoolRebalanceDaemonTest {
  private static final int DISK = 4 << 20;
  private static final int BASE_DATA = 2 << 20;
  @TempDir Path tmp;

  @Test
  void aPoolMovesToTheDatastoreItMayUseKeepingItsSharing() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Datastore.create(a, DatastoreOptions.defaults(), 0).close();
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    assertOk(CliRun.of("vm", "create", "-D", a.toString(), "gold", "--disk", "4M", "--disk", "4M"));
    Random random = new Random(5);
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      for (int i = 0; i < 2; i++) {
        write(d, "gold-disk" + i, 0, bytes(random, BASE_DATA));
      }
    }
    assertOk(CliRun.of("vm", "snapshot", "create", "-D", a.toString(), "gold@v1"));
    assertOk(CliRun.of("pool", "create", "-D", a.toString(), "lab", "--from", "gold@v1", "--count", "3",
        "--persistent-disk", "1M"));
    Map<String, byte[]> expected = new HashMap<>();
    long deltas = 0;
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      Inventory inv = Inventory.open(d);
      for (Desktop desk : inv.pools().get("lab").desktops()) {
        write(d, desk.systemDisks().get(0), random.nextInt(DISK / 4096 - 16) * 4096L, bytes(random, 64 << 10));
        write(d, desk.systemDisks().get(1), 4096, new byte[64 << 10]); // zeros over the base's data
        write(d, desk.persistentDisk(), 0, bytes(random, 64 << 10));
        for (String v : desk.volumes()) {
          expected.put(v, read(d, v));
          deltas += d.volumeInfo(v).allocated();
        }
      }
    }
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      ManagedDatastore da = daemon.daemon().find(a).orElseThrow();
      ManagedDatastore db = daemon.daemon().find(b).orElseThrow();
      assertOk(CliRun.of("pool", "set", "-D", a.toString(), "lab", "--datastores", b.toString()));

      CliRun dry = assertOk(CliRun.of("pool", "rebalance", "-D", a.toString(), "lab", "--dry-run"));
      assertThat(dry.out()).contains("plan for pool lab: 3 desktop(s) to move")
          .contains("lab-1: " + DesktopPools.directory(a) + " -> " + DesktopPools.directory(b))
          .contains("replica copied there");
      TestDaemon.Reply plan = daemon.unix("POST", "/api/v1/pools/lab/rebalance?dryRun=true&datastore=" + da.name(),
          null);
      assertThat(plan.status()).as(plan.body()).isEqualTo(200);
      assertThat(plan.json().get("moves").size()).isEqualTo(3);
      assertThat(plan.json().get("dryRun").asBoolean()).isTrue();
      assertThat(db.store().volumes()).isEmpty();

      assertOk(CliRun.of("export", "add", "-D", a.toString(), "lab-2-disk0"));
      CliRun refused = CliRun.of("pool", "rebalance", "-D", a.toString(), "lab");
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.err()).contains("cannot move desktop lab-2 of pool lab: its system disk lab-2-disk0 is in use")
          .hasLineCount(1);
      assertThat(db.store().volumes()).isEmpty();
      assertThat(da.inventory().pools().get("lab").pending()).isNull();
      assertOk(CliRun.of("export", "remove", "-D", a.toString(), "lab-2-disk0"));

      TestDaemon.Reply started = daemon.unix("POST", "/api/v1/pools/lab/rebalance?datastore=" + da.name(), null);
      assertThat(started.status()).as(started.body()).isEqualTo(202);
      JobInfo ended = daemon.daemon().jobs().await(started.json().get("id").asText(), Duration.ofSeconds(120));
      assertThat(ended.state().label()).as("%s", ended).isEqualTo("succeeded");

      for (Map.Entry<String, byte[]> e : expected.entrySet()) {
        assertThat(da.store().hasVolume(e.getKey())).as(e.getKey()).isFalse();
        assertThat(read(db.store(), e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
      }
      assertThat(da.inventory().pools().get("lab").desktops()).allMatch(x -> DesktopPools.directory(b).equals(x.datastore()));
      long base = 2L * BASE_DATA;
      assertThat(db.store().info().allocated()).as("b holds the base once plus the desktops' data")
          .isBetween(base, (long) (1.1 * (base + deltas)) + (256 << 10));
      assertThat(assertOk(CliRun.of("pool", "info", "-D", a.toString(), "lab")).out())
          .contains("datastores: " + DesktopPools.directory(b)).contains("(in " + DesktopPools.directory(b) + ")");
      assertThat(da.store().check().problems()).isEmpty();
      assertThat(db.store().check().problems()).isEmpty();
      CliRun again = assertOk(CliRun.of("pool", "rebalance", "-D", a.toString(), "lab", "--json"));
      JsonNode r = again.json();
      assertThat(r.get("moves").size()).isZero();
      assertThat(r.get("done").get("moved").asInt()).isZero();
    }
  }

  @Test
  void aCancelStopsAfterTheDesktopBeingMoved() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Datastore.create(a, DatastoreOptions.defaults(), 0).close();
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    assertOk(CliRun.of("vm", "create", "-D", a.toString(), "gold", "--disk", "1M"));
    assertOk(CliRun.of("vm", "snapshot", "create", "-D", a.toString(), "gold@v1"));
    assertOk(CliRun.of("pool", "create", "-D", a.toString(), "lab", "--from", "gold@v1", "--count", "3",
        "--persistent-disk", "4M"));
    Map<String, byte[]> expected = new HashMap<>();
    Random random = new Random(9);
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      Inventory inv = Inventory.open(d);
      for (Desktop desk : inv.pools().get("lab").desktops()) {
        write(d, desk.persistentDisk(), 0, bytes(random, 4 << 20));
        write(d, desk.systemDisks().get(0), 0, bytes(random, 4096));
        for (String v : desk.volumes()) {
          expected.put(v, read(d, v));
        }
      }
    }
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      ManagedDatastore da = daemon.daemon().find(a).orElseThrow();
      ManagedDatastore db = daemon.daemon().find(b).orElseThrow();
      assertOk(CliRun.of("pool", "set", "-D", a.toString(), "lab", "--datastores", b.toString()));
      // 4 MiB per persistent disk at 2 MiB/s: about 2 s a desktop, time to cancel during the first.
      String job = assertOk(CliRun.of("pool", "rebalance", "-D", a.toString(), "lab", "--rate-limit", "2M",
          "--no-wait")).out().strip();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (db.store().volumes().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertOk(CliRun.of("job", "cancel", "-D", a.toString(), job));
      JobInfo ended = daemon.daemon().jobs().await(job, Duration.ofSeconds(120));
      assertThat(ended.state().label()).as("%s", ended).isIn("cancelled", "succeeded");
      long moved = da.inventory().pools().get("lab").desktops().stream().filter(x -> x.datastore() != null).count();
      assertThat(moved).as("desktops moved before the cancel took effect").isBetween(1L, 2L);
      assertThat(da.inventory().pools().get("lab").pending()).isNull();
      for (Desktop desk : da.inventory().pools().get("lab").desktops()) {
        ManagedDatastore here = desk.datastore() == null ? da : db;
        ManagedDatastore other = here == da ? db : da;
        for (String v : desk.volumes()) {
          assertThat(read(here.store(), v)).as(v).isEqualTo(expected.get(v));
          assertThat(other.store().hasVolume(v)).as("%s on both sides", v).isFalse();
        }
      }
      assertThat(da.store().check().problems()).isEmpty();
      assertThat(db.store().check().problems()).isEmpty();
    }
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private static void write(Datastore ds, String volume, long offset, byte[] data) throws Exception {
    try (Volume v = ds.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  private static byte[] read(Datastore ds, String volume) throws Exception {
    try (Volume v = ds.volume(volume, true)) {
      ByteBuffer buf = ByteBuffer.allocate((int) v.size());
      v.read(0, buf);
      return buf.array();
    }
  }

  private static CliRun assertOk(CliRun r) {
    assertThat(r.exit()).as(r.err()).isZero();
    return r;
  }
}
