package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.server.Checkouts;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vstore checkout}, {@code checkin} and {@code checkout list|info} against a daemon, with their JSON. */
class CheckoutCommandTest {
  @TempDir Path tmp;

  @Test
  void checkOutAndInThroughTheCommands() throws Exception {
    try (TestDaemon d = TestDaemon.start(new CliCommandRunner(), tmp.resolve("server"))) {
      Checkouts.install(d.daemon(), 2);
      var ds = d.daemon().all().getFirst();
      ds.inventory().vms().create("desk", List.of(8L << 20), JsonNodeFactory.instance.objectNode());
      try (Volume v = ds.store().volume("desk-disk0")) {
        v.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        v.flush();
      }
      String token = d.daemon().tokens().create("bob", Scope.WRITE).secret();
      Path pass = Files.writeString(tmp.resolve("pass"), "s3cret\n");
      Path dir = tmp.resolve("copy");
      CliRun out = CliRun.of("checkout", "desk", "--server", d.baseUrl(), "--token", token, "--to", dir.toString(),
          "--passphrase-file", pass.toString(), "--json");
      assertThat(out.exit()).as(out.err()).isZero();
      assertThat(fields(out.json())).containsExactly("checkoutId", "vm", "disks", "bytesReceived", "dataBytes",
          "resumed");
      CliRun list = CliRun.of("checkout", "list", "--remote", d.baseUrl(), "--token", token, "--json");
      assertThat(list.exit()).as(list.err()).isZero();
      assertThat(fields(list.json().get(0))).containsExactly("id", "vm", "user", "checkpoint", "disks", "since",
          "lastContact", "bytesOut", "bytesBack", "checkins", "state");
      CliRun info = CliRun.of("checkout", "info", out.json().get("checkoutId").asText(), "--remote", d.baseUrl(),
          "--token", token);
      assertThat(info.out()).contains("desk").contains("bob").contains("out");
      CliRun in = CliRun.of("checkin", dir.toString(), "--token", token, "--passphrase-file", pass.toString(), "--json");
      assertThat(in.exit()).as(in.err()).isZero();
      assertThat(fields(in.json())).containsExactly("checkoutId", "bytesSent", "changedBytes", "serverSnapshot",
          "state");
      assertThat(in.json().get("changedBytes").asLong()).isZero();
      CliRun wrong = CliRun.of("offline", "run", dir.toString(), "--passphrase-file", pass.toString());
      assertThat(wrong.exit()).isEqualTo(1);
      assertThat(wrong.err().strip()).isEqualTo("vstore: the copy in " + dir + " was checked in");
      String doc = Files.readString(Path.of("..", "docs", "CLI.md"));
      assertThat(doc).contains("`checkout VM --json`: `checkoutId`, `vm`, `disks`, `bytesReceived`, `dataBytes`, `resumed`")
          .contains("`checkin DIR --json`: `checkoutId`, `bytesSent`, `changedBytes`, `serverSnapshot`, `state`");
    }
  }

  private static List<String> fields(JsonNode n) {
    List<String> f = new ArrayList<>();
    n.fieldNames().forEachRemaining(f::add);
    return f;
  }
}
