package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.TestDaemon;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vstore export add|list|remove} against a running daemon, and without one. */
final class ExportCommandTest {
  @TempDir Path tmp;

  /** One run's exit code and output. */

  private static CliRun vstore(String... args) {
    return CliRun.of(args);
  }

  @Test
  void addsListsAndRemovesExportsOfTheDaemon() throws Exception {
    Path ds = tmp.resolve("ds");
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 64L << 30);
        Volume v = d.createVolume("vm1", 32L << 20)) {
      assertThat(v.size()).isEqualTo(32L << 20);
    }
    try (TestDaemon daemon = TestDaemon.start(null, ds)) {
      int port = daemon.daemon().exports().nbdAddress().getPort();
      CliRun add = vstore("export", "add", "-D", ds.toString(), "vm1", "--read-only", "--name", "vm1+ro");
      assertThat(add.exit()).as(add.err()).isZero();
      assertThat(add.out()).isEqualTo("exporting vm1+ro (32.0 MiB, read-only) at nbd://127.0.0.1:" + port + "/vm1+ro\n");

      CliRun json = vstore("export", "list", "-D", ds.toString(), "--json");
      JsonNode list = new ObjectMapper().readTree(json.out());
      assertThat(list).hasSize(1);
      assertThat(list.get(0).get("name").asText()).isEqualTo("vm1+ro");
      assertThat(list.get(0).get("clients")).isEmpty();

      CliRun text = vstore("export", "list", "-D", ds.toString());
      assertThat(text.out()).startsWith("NAME  ").contains("vm1+ro", "volume", "32.0 MiB", "read-only");

      CliRun dup = vstore("export", "add", "-D", ds.toString(), "vm1", "--name", "vm1+ro");
      assertThat(dup.exit()).isNotZero();
      assertThat(dup.err()).isEqualTo("vstore: export vm1+ro already exists\n");

      CliRun remove = vstore("export", "remove", "-D", ds.toString(), "vm1+ro");
      assertThat(remove.exit()).as(remove.err()).isZero();
      assertThat(remove.out()).isEqualTo("removed export vm1+ro\n");
      assertThat(vstore("export", "list", "-D", ds.toString()).out()).isEqualTo("no exports\n");

      CliRun missing = vstore("export", "remove", "-D", ds.toString(), "vm1@snap");
      assertThat(missing.err()).isEqualTo("vstore: no export vm1@snap\n");
    }
  }

  @Test
  void withoutADaemonSaysToStartOne() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 64L << 30).close();
    CliRun r = vstore("export", "list", "-D", ds.toString());
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).startsWith("vstore: ").contains("start 'vstore serve'").hasLineCount(1);
  }
}
