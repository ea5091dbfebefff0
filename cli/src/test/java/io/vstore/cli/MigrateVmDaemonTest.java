package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobInfo;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore migrate VM} in a daemon owning two datastores: the disks move one after another
 * with their exports, the VM's record follows them; a cancelled move stops after the disk being
 * moved, leaves each disk in one datastore and the VM refusing its operations until another migrate
 * ends the split; a linked-clone VM is refused without {@code --flatten}.
 */
final class MigrateVmDaemonTest {
  private static final int DISK = 8 << 20;
  @TempDir Path tmp;

  @Test
  void aVmMovesWithItsRecordAndExportsAndACancelStopsAfterTheCurrentDisk() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Datastore.create(a, DatastoreOptions.defaults(), 0).close();
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    assertOk(CliRun.of("vm", "create", "-D", a.toString(), "web", "--disk", "8M", "--disk", "8M", "--disk", "8M"));
    byte[][] content = new byte[3][DISK];
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      Random random = new Random(11);
      for (int i = 0; i < 3; i++) {
        random.nextBytes(content[i]);
        try (Volume v = d.volume("web-disk" + i)) {
          v.write(0, ByteBuffer.wrap(content[i]));
          v.flush();
        }
      }
    }
    assertOk(CliRun.of("vm", "snapshot", "create", "-D", a.toString(), "web@s1"));
    // The same bytes again after the snapshot: the history moves unthrottled, so only the heads'
    // changes since s1 make the rate-limited copy pass last long enough to cancel during a disk.
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      for (int i = 0; i < 3; i++) {
        try (Volume v = d.volume("web-disk" + i)) {
          v.write(0, ByteBuffer.wrap(content[i]));
          v.flush();
        }
      }
    }
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      ManagedDatastore da = daemon.daemon().find(a).orElseThrow();
      ManagedDatastore db = daemon.daemon().find(b).orElseThrow();
      assertOk(CliRun.of("export", "add", "-D", a.toString(), "web-disk1"));

      // Slow enough to cancel during the first disk: 24 MiB of head changes at 4 MiB/s.
      String job = assertOk(CliRun.of("migrate", "-D", a.toString(), "web", "--to", b.toString(), "--rate-limit", "4M",
          "--no-wait")).out().strip();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (info(daemon, job).done() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertOk(CliRun.of("job", "cancel", "-D", a.toString(), job));
      JobInfo ended = daemon.daemon().jobs().await(job, Duration.ofSeconds(120));
      assertThat(ended.state().label()).isEqualTo("cancelled");
      // The disk being moved finished; the others stayed.
      for (int i = 0; i < 3; i++) {
        String disk = "web-disk" + i;
        assertThat(da.store().hasVolume(disk) ^ db.store().hasVolume(disk)).as(disk).isTrue();
      }
      assertThat(db.store().hasVolume("web-disk0")).isTrue();
      assertThat(da.store().hasVolume("web-disk2")).isTrue();
      assertThat(assertOk(CliRun.of("vm", "info", "-D", a.toString(), "web")).out())
          .contains("migrate: stopped from " + a.toAbsolutePath().normalize() + " to " + b.toAbsolutePath().normalize()
              + "; in the other datastore: web-disk0");
      CliRun refused = CliRun.of("vm", "snapshot", "create", "-D", a.toString(), "web@s2");
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.err()).contains("split by a cancelled migrate").hasLineCount(1);

      CliRun moved = assertOk(CliRun.of("migrate", "-D", a.toString(), "web", "--to", b.toString(), "--json"));
      JsonNode r = moved.json();
      assertThat(r.get("split").asBoolean()).isFalse();
      assertThat(r.get("skipped").toString()).contains("web-disk0");
      for (int i = 0; i < 3; i++) {
        assertThat(da.store().hasVolume("web-disk" + i)).isFalse();
        assertThat(bytes(db.store(), "web-disk" + i)).isEqualTo(content[i]);
        assertThat(bytes(db.store(), "web-disk" + i + "@s1")).isEqualTo(content[i]);
      }
      assertThat(CliRun.of("vm", "list", "-D", a.toString()).out()).doesNotContain("web");
      assertOk(CliRun.of("vm", "snapshot", "create", "-D", b.toString(), "web@s2"));
      assertThat(daemon.daemon().exports().get("web-disk1").datastore()).isEqualTo(db.name());
      assertThat(Files.readString(b.resolve("exports.json"))).contains("\"web-disk1\"");
      assertThat(db.store().check().problems()).isEmpty();
      assertThat(da.store().check().problems()).isEmpty();

      // A VM whose disks are linked clones of a snapshot that stays needs --flatten.
      assertOk(CliRun.of("clone", "create", "-D", b.toString(), "web-disk0@s1", "lone"));
      CliRun clone = CliRun.of("migrate", "-D", b.toString(), "web", "--to", a.toString());
      assertThat(clone.exit()).isNotZero();
      assertThat(clone.err()).contains("its snapshots have linked clones lone").hasLineCount(1);
    }
  }

  @Test
  void aDaemonStoppedDuringAVmMoveTakesItUpWhenItStarts() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Datastore.create(a, DatastoreOptions.defaults(), 0).close();
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    assertOk(CliRun.of("vm", "create", "-D", a.toString(), "db", "--disk", "8M", "--disk", "8M"));
    byte[][] content = new byte[2][DISK];
    try (Datastore d = Datastore.open(a, DatastoreOptions.defaults())) {
      Random random = new Random(12);
      for (int i = 0; i < 2; i++) {
        random.nextBytes(content[i]);
        try (Volume v = d.volume("db-disk" + i)) {
          v.write(0, ByteBuffer.wrap(content[i]));
          v.flush();
        }
      }
    }
    String job;
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      job = assertOk(CliRun.of("migrate", "-D", a.toString(), "db", "--to", b.toString(), "--rate-limit", "4M",
          "--no-wait")).out().strip();
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (info(daemon, job).done() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    } // the daemon stops in the middle of the move: it stays recorded, running
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      ManagedDatastore da = daemon.daemon().find(a).orElseThrow();
      ManagedDatastore db = daemon.daemon().find(b).orElseThrow();
      Migrations.resumeAll(daemon.daemon()); // as vstore serve does at start
      JobInfo resumed = daemon.daemon().jobs().list().stream()
          .filter(j -> j.kind().equals("migrate") && "db".equals(j.target()) && !j.id().equals(job)).findFirst()
          .orElseThrow(() -> new AssertionError("no migrate job resumed: " + daemon.daemon().jobs().list()));
      JobInfo ended = daemon.daemon().jobs().await(resumed.id(), Duration.ofSeconds(120));
      assertThat(ended.state().label()).as("%s", ended).isEqualTo("succeeded");
      assertThat(daemon.daemon().jobs().list().stream()
          .filter(j -> j.kind().equals("migrate") && !j.id().equals(job)).count())
          .as("one job for the VM, none for its disk on its own").isEqualTo(1);
      for (int i = 0; i < 2; i++) {
        assertThat(da.store().hasVolume("db-disk" + i)).isFalse();
        assertThat(bytes(db.store(), "db-disk" + i)).isEqualTo(content[i]);
      }
      assertThat(db.inventory().vms().get("db").pending()).isNull();
      assertThat(da.inventory().vms().list()).isEmpty();
      assertThat(db.store().check().problems()).isEmpty();
    }
  }

  private static JobInfo info(TestDaemon daemon, String id) {
    return daemon.daemon().jobs().list().stream().filter(j -> j.id().equals(id)).findFirst().orElseThrow();
  }

  private static byte[] bytes(Datastore ds, String spec) throws Exception {
    try (Volume v = ds.volume(spec, true)) {
      ByteBuffer buf = ByteBuffer.allocate(DISK);
      v.read(0, buf);
      return buf.array();
    }
  }

  private static CliRun assertOk(CliRun r) {
    assertThat(r.exit()).as(r.err()).isZero();
    return r;
  }
}
