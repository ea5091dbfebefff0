package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.TestDaemon;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication with the other commands, through a daemon owning three datastores: {@code replica
 * create VM} makes one pair per disk; deleting a side of a pair (a volume, a VM's disks) is refused
 * naming the replica until it is removed; a replicated volume that is migrated keeps its pair, and
 * the secondary ends equal to the moved primary.
 */
final class ReplicaGapsCommandTest {
  private static final int SIZE = 8 << 20;
  @TempDir Path tmp;

  @Test
  void replicasOfVmsRefusedDeletionsAndAMigratedPrimary() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Path c = tmp.resolve("c");
    byte[] data = new byte[SIZE];
    new Random(5).nextBytes(data);
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 0); Volume v = d.createVolume("v", SIZE)) {
      v.write(0, ByteBuffer.wrap(data));
    }
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    Datastore.create(c, DatastoreOptions.defaults(), 0).close();
    ok("vm", "create", "-D", a.toString(), "web", "--disk", "4M", "--disk", "4M");
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b, c)) {
      Datastore db = daemon.daemon().find(b).orElseThrow().store();
      Datastore dc = daemon.daemon().find(c).orElseThrow().store();

      JsonNode pairs = ok("replica", "create", "-D", a.toString(), "web", "--to", b.toString(), "--id", "w", "--json")
          .json();
      assertThat(pairs).hasSize(2);
      assertThat(pairs.get(0).get("id").asText()).isEqualTo("w-0");
      assertThat(pairs.get(1).get("volume").asText()).isEqualTo("web-disk1");
      CliRun vmDelete = CliRun.of("vm", "delete", "-D", a.toString(), "web");
      assertThat(vmDelete.exit()).isNotZero();
      assertThat(vmDelete.err()).contains("is replicated by replica w-0").hasLineCount(1);
      CliRun secondaryDelete = CliRun.of("volume", "delete", "-D", b.toString(), "web-disk1");
      assertThat(secondaryDelete.exit()).isNotZero();
      assertThat(secondaryDelete.err()).contains("is the secondary of replica w-1").contains("vstore replica remove w-1");
      ok("replica", "remove", "-D", a.toString(), "w-0");
      ok("replica", "remove", "-D", a.toString(), "w-1");
      ok("vm", "delete", "-D", a.toString(), "web");

      ok("replica", "create", "-D", a.toString(), "v", "--to", b.toString(), "--id", "p1");
      CliRun refused = CliRun.of("volume", "delete", "-D", a.toString(), "v");
      assertThat(refused.err()).isEqualTo("vstore: volume v is replicated by replica p1 to "
          + db.path() + ":v: remove the replica first (vstore replica remove p1)\n");
      CliRun moveSecondary = CliRun.of("migrate", "-D", b.toString(), "v", "--to", c.toString());
      assertThat(moveSecondary.err()).contains("promote it or remove the replica before moving it");

      ok("migrate", "-D", a.toString(), "v", "--to", c.toString());
      JsonNode sides = ok("replica", "info", "-D", c.toString(), "p1", "--json").json();
      JsonNode primary = sides.get(0).get("role").asText().equals("PRIMARY") ? sides.get(0) : sides.get(1);
      assertThat(primary.get("datastore").asText()).isEqualTo(dc.path().toString());
      try (Volume v = dc.volume("v")) {
        byte[] more = new byte[1 << 20];
        new Random(6).nextBytes(more);
        v.write(SIZE - more.length, ByteBuffer.wrap(more));
        v.flush();
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (true) {
        JsonNode p = ok("replica", "info", "-D", c.toString(), "p1", "--json").json();
        JsonNode pr = p.get(0).get("role").asText().equals("PRIMARY") ? p.get(0) : p.get(1);
        if (pr.get("state").asText().equals("ACTIVE") && pr.get("bytesBehind").asLong() == 0) {
          break;
        }
        assertThat(System.nanoTime()).as("pair p1: %s", pr).isLessThan(deadline);
        Thread.sleep(50);
      }
      try (Volume x = dc.volume("v", true); Volume y = db.volume("v", true)) {
        ByteBuffer bx = ByteBuffer.allocate(SIZE);
        ByteBuffer by = ByteBuffer.allocate(SIZE);
        x.read(0, bx);
        y.read(0, by);
        assertThat(by.array()).isEqualTo(bx.array());
      }
    }
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as("%s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }
}
