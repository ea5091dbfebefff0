package io.vstore.server.exports;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /api/v1/exports} on a running daemon, driven by real NBD clients. */
class ExportRoutesTest {
  private static final long SIZE = 64L << 20;
  @TempDir Path tmp;

  private static Datastore store(TestDaemon d) {
    return d.daemon().all().getFirst().store();
  }

  private static void createVolume(TestDaemon d, String name) throws IOException {
    try (Volume v = store(d).createVolume(name, SIZE)) {
      v.flush();
    }
  }

  private static JsonNode add(TestDaemon d, String json) throws Exception {
    TestDaemon.Reply r = d.unix("POST", "/api/v1/exports", json);
    assertThat(r.status()).as(r.body()).isEqualTo(201);
    return r.json();
  }

  private static List<String> types(TestDaemon d) {
    return d.daemon().events().recent(0).stream().map(Event::type).toList();
  }

  @Test
  void addsListsShowsAndRemovesExports() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      createVolume(d, "vm1");
      assertThat(d.unix("GET", "/api/v1/exports", null).json()).isEmpty();

      JsonNode added = add(d, "{\"spec\": \"vm1\"}");
      assertThat(added.get("name").asText()).isEqualTo("vm1");
      assertThat(added.get("kind").asText()).isEqualTo("volume");
      assertThat(added.get("datastore").asText()).isEqualTo("ds");
      assertThat(added.get("size").asLong()).isEqualTo(SIZE);
      assertThat(added.get("readOnly").asBoolean()).isFalse();
      int port = d.daemon().exports().nbdAddress().getPort();
      assertThat(added.get("uri").asText()).isEqualTo("nbd://127.0.0.1:" + port + "/vm1");
      assertThat(added.get("clients")).isEmpty();

      TestDaemon.Reply list = d.tcp("GET", "/api/v1/exports", null, d.adminToken());
      assertThat(list.status()).isEqualTo(200);
      assertThat(list.json()).hasSize(1);
      assertThat(list.json().get(0).get("name").asText()).isEqualTo("vm1");
      assertThat(d.unix("GET", "/api/v1/exports/vm1", null).json().get("spec").asText()).isEqualTo("vm1");
      assertThat(Peers.run("nbdinfo", "--list", "nbd://127.0.0.1:" + port)).contains("vm1");

      assertThat(d.unix("DELETE", "/api/v1/exports/vm1", null).status()).isEqualTo(204);
      assertThat(d.unix("GET", "/api/v1/exports/vm1", null).status()).isEqualTo(404);
      TestDaemon.Reply again = d.unix("DELETE", "/api/v1/exports/vm1", null);
      assertThat(again.status()).isEqualTo(404);
      assertThat(again.json().get("detail").asText()).isEqualTo("no export vm1");
      assertThat(Peers.runAllowingFailure("nbdinfo", "nbd://127.0.0.1:" + port + "/vm1").exit()).isNotZero();
      assertThat(types(d)).containsSubsequence("export.added", "export.removed");
    }
  }

  @Test
  void clientsWriteThroughTheExportAndASnapshotHoldsWhatTheyWrote() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      createVolume(d, "vm1");
      String uri = add(d, "{\"spec\": \"vm1\"}").get("uri").asText();
      Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x5c 1M 2M", "-c", "flush", uri);
      assertThat(Peers.run("qemu-img", "info", uri)).contains("virtual size: 64 MiB");

      String since = store(d).createSnapshot("vm1", "s1").changeId();
      Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x7d 1M 64k", "-c", "write -P 0x11 40M 1M", uri);

      JsonNode snap = add(d, "{\"spec\": \"vm1@s1\", \"dirtyBitmaps\": [\"" + since + "\"]}");
      // What an export serves cannot be deleted under its clients, through the API or the engine.
      TestDaemon.Reply refused = d.unix("DELETE", "/api/v1/volumes/vm1?recursive=true", null);
      assertThat(refused.status()).isEqualTo(409);
      assertThat(refused.json().get("detail").asText())
          .isEqualTo("cannot delete volume vm1: it is exported over NBD as vm1, vm1@s1"
              + " (remove the export first: vstore export remove NAME)");
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> store(d).deleteSnapshot("vm1", "s1"))
          .hasMessageContaining("snapshot vm1@s1: it is exported over NBD as vm1@s1");
      assertThat(store(d).snapshots("vm1")).hasSize(1);
      assertThat(snap.get("kind").asText()).isEqualTo("snapshot");
      assertThat(snap.get("readOnly").asBoolean()).isTrue();
      String snapUri = snap.get("uri").asText();
      Peers.run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x5c 1M 2M", "-c", "read -P 0 40M 1M", snapUri);
      Peers.run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x7d 1M 64k", "-c", "read -P 0x11 40M 1M", uri);

      // The head's dirty bitmap since the snapshot: exactly what was written after it.
      JsonNode head = add(d, "{\"spec\": \"vm1\", \"name\": \"vm1-cbt\", \"dirtyBitmaps\": [\"" + since + "\"]}");
      String map = Peers.run("nbdinfo", "--map=qemu:dirty-bitmap:" + since, head.get("uri").asText());
      assertThat(map).containsPattern("\\s+1048576\\s+65536\\s+1\\s+dirty")
          .containsPattern("\\s+41943040\\s+1048576\\s+1\\s+dirty");
      Peers.run("qemu-img", "compare", "-f", "raw", "-F", "raw", uri, head.get("uri").asText());

      // The engine sees the bytes too.
      try (Volume v = store(d).volume("vm1@s1", true)) {
        ByteBuffer b = ByteBuffer.allocate(65536);
        v.read(1 << 20, b);
        assertThat(b.array()).containsOnly((byte) 0x5c);
      }
      assertThat(types(d)).contains("nbd.connected", "nbd.disconnected");
      Event left = d.daemon().events().recent(0).stream().filter(e -> e.type().equals("nbd.disconnected"))
          .findFirst().orElseThrow();
      assertThat(left.data()).containsEntry("export", "vm1").containsEntry("bytesWritten", 2L << 20);
      assertThat(left.datastore()).isEqualTo("ds");
    }
  }

  @Test
  void readOnlyExportsRefuseWrites() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      createVolume(d, "vm1");
      JsonNode ro = add(d, "{\"spec\": \"vm1\", \"name\": \"vm1-ro\", \"readOnly\": true}");
      assertThat(ro.get("readOnly").asBoolean()).isTrue();
      assertThat(Peers.run("nbdinfo", ro.get("uri").asText())).contains("is_read_only: true");
      Peers.Result w = Peers.runAllowingFailure("qemu-io", "-f", "raw", "-c", "write -P 1 0 4096", ro.get("uri").asText());
      assertThat(w.exit() != 0 || (w.out() + w.err()).contains("ermission") || (w.out() + w.err()).contains("not permitted"))
          .as("a write to a read-only export must fail: %s %s", w.out(), w.err()).isTrue();
      assertThat(store(d).volumeInfo("vm1").mapped()).isZero();
    }
  }

  @Test
  void badSpecsAre400AndDuplicateNames409() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      createVolume(d, "vm1");
      assertBad(d, "{}", "spec is required");
      assertBad(d, "{\"spec\": \"\"}", "empty export spec");
      assertBad(d, "{\"spec\": \"bad name!\"}", "bad volume name 'bad name!'");
      assertBad(d, "{\"spec\": \"vm1@\"}", "is not VOLUME or VOLUME@SNAPSHOT");
      assertBad(d, "{\"spec\": \"nope\"}", "nope");
      assertBad(d, "{\"spec\": \"vm1@nope\"}", "nope");
      assertBad(d, "{\"spec\": \"images/disk.qcow2\"}", "must be an absolute path");
      assertBad(d, "{\"spec\": \"" + tmp.resolve("missing.qcow2") + "\"}", "no image file");
      assertBad(d, "{\"spec\": \"vm1\", \"name\": \"a/b\"}", "bad export name 'a/b'");
      assertBad(d, "{\"spec\": \"vm1\", \"dirtyBitmaps\": [\"nope/1\"]}", "nope/1");
      assertBad(d, "{\"spec\": \"vm1\", \"colour\": \"red\"}", "colour");
      assertBad(d, "{\"spec\": 7}", "");
      assertBad(d, "{\"spec\": \"vm1\", \"dirtyBitmaps\": [null]}", "not null");
      assertThat(d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm1\", \"datastore\": \"other\"}").status())
          .isEqualTo(404);
      assertThat(d.unix("DELETE", "/api/v1/exports/x?force=maybe", null).status()).isEqualTo(400);

      add(d, "{\"spec\": \"vm1\"}");
      TestDaemon.Reply dup = d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm1\"}");
      assertThat(dup.status()).isEqualTo(409);
      assertThat(dup.json().get("detail").asText()).isEqualTo("export vm1 already exists");
      assertThat(d.unix("GET", "/api/v1/exports", null).json()).hasSize(1);
      // Nothing failed half-way: a failed add leaves no export behind and the file lists only vm1.
      assertThat(ExportStore.load(tmp.resolve("ds"))).extracting(ExportStore.Saved::name).containsExactly("vm1");
    }
  }

  private static void assertBad(TestDaemon d, String json, String detail) throws Exception {
    TestDaemon.Reply r = d.unix("POST", "/api/v1/exports", json);
    assertThat(r.status()).as(json + " -> " + r.body()).isEqualTo(400);
    assertThat(r.contentType()).isEqualTo("application/problem+json");
    assertThat(r.json().get("detail").asText()).contains(detail);
  }

  @Test
  void imageFilesNeedAnAdminTokenOverTcp() throws Exception {
    Path qcow2 = tmp.resolve("disk.qcow2");
    Peers.run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), "16M");
    Peers.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x21 0 64k", qcow2.toString());
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      String writer = d.daemon().tokens().create("writer", Scope.WRITE).secret();
      String body = "{\"spec\": \"" + qcow2 + "\"}";
      assertThat(d.tcp("POST", "/api/v1/exports", body, writer).status()).isEqualTo(403);
      String reader = d.daemon().tokens().create("reader", Scope.READ).secret();
      assertThat(d.tcp("POST", "/api/v1/exports", "{\"spec\": \"vm1\"}", reader).status()).isEqualTo(403);

      TestDaemon.Reply r = d.tcp("POST", "/api/v1/exports", body, d.adminToken());
      assertThat(r.status()).as(r.body()).isEqualTo(201);
      assertThat(r.json().get("name").asText()).isEqualTo("disk.qcow2");
      assertThat(r.json().get("kind").asText()).isEqualTo("file");
      Peers.run("qemu-io", "-f", "raw", "-c", "read -P 0x21 0 64k", "-c", "write -P 0x22 1M 64k", r.json().get("uri").asText());
      assertBad(d, "{\"spec\": \"" + qcow2 + "\", \"name\": \"again\", \"dirtyBitmaps\": [\"x\"]}", "dirty bitmaps need");
      assertThat(d.unix("DELETE", "/api/v1/exports/disk.qcow2", null).status()).isEqualTo(204);
    }
    // Removing flushed and closed the image: qemu sees a consistent file with the write.
    Peers.run("qemu-img", "check", qcow2.toString());
    Peers.run("qemu-io", "-f", "qcow2", "-c", "read -P 0x22 1M 64k", qcow2.toString());
  }

  @Test
  void removalWithAClientConnectedNeedsForceThenDisconnectsIt() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      createVolume(d, "vm1");
      String uri = add(d, "{\"spec\": \"vm1\"}").get("uri").asText();
      // qemu-io without -c keeps its connection open and reads commands from stdin.
      Process qemu = new ProcessBuilder("qemu-io", "-f", "raw", uri).redirectErrorStream(true).start();
      try {
        OutputStream commands = qemu.getOutputStream();
        commands.write("write -P 0x42 0 1M\n".getBytes(StandardCharsets.UTF_8));
        commands.flush();
        // Waits until the write arrived: a forced removal answers requests in flight, not ones not yet sent.
        JsonNode clients = awaitClients(d, "vm1", 1 << 20);
        assertThat(clients.get(0).get("remote").asText()).startsWith("127.0.0.1:");
        assertThat(clients.get(0).get("tls").asBoolean()).isFalse();

        TestDaemon.Reply refused = d.unix("DELETE", "/api/v1/exports/vm1", null);
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.json().get("detail").asText()).startsWith("export vm1 has 1 connected client (127.0.0.1:")
            .endsWith("remove with force");
        assertThat(d.unix("GET", "/api/v1/exports/vm1", null).status()).isEqualTo(200);

        assertThat(d.unix("DELETE", "/api/v1/exports/vm1?force=true", null).status()).isEqualTo(204);
        assertThat(d.unix("GET", "/api/v1/exports", null).json()).isEmpty();
        assertThat(d.daemon().exports().connectionCount()).isZero();
        commands.write("quit\n".getBytes(StandardCharsets.UTF_8));
        commands.flush();
        assertThat(qemu.waitFor(60, TimeUnit.SECONDS)).isTrue();
      } finally {
        qemu.destroyForcibly();
      }
      // The export was flushed before it went: the engine has the client's write.
      try (Volume v = store(d).volume("vm1", true)) {
        ByteBuffer b = ByteBuffer.allocate(1 << 20);
        v.read(0, b);
        assertThat(b.array()).containsOnly((byte) 0x42);
      }
      Event removed = d.daemon().events().recent(0).stream().filter(e -> e.type().equals("export.removed"))
          .findFirst().orElseThrow();
      assertThat(removed.data()).containsEntry("disconnected", 1);
      assertThat(types(d)).containsSubsequence("nbd.connected", "nbd.disconnected", "export.removed");
    }
  }

  @Test
  void theOpenApiDocumentDescribesExactlyTheExportRoutes() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JsonNode paths = d.unix("GET", "/api/v1/openapi.json", null).json().get("paths");
      java.util.Set<String> served = new java.util.TreeSet<>();
      for (io.vstore.server.http.Route r : d.daemon().router().routes()) {
        if (r.pattern().startsWith("/api/v1/exports")) {
          served.add(r.method() + " " + r.pattern());
          JsonNode op = paths.path(r.pattern()).path(r.method().toLowerCase(java.util.Locale.ROOT));
          assertThat(op.path("summary").asText()).as(r.method() + " " + r.pattern()).isEqualTo(r.summary());
        }
      }
      java.util.Set<String> described = new java.util.TreeSet<>();
      for (var path : paths.properties()) {
        if (path.getKey().startsWith("/api/v1/exports")) {
          for (String method : List.of("get", "post", "put", "patch", "delete")) {
            if (path.getValue().has(method)) {
              described.add(method.toUpperCase(java.util.Locale.ROOT) + " " + path.getKey());
            }
          }
        }
      }
      assertThat(described).isEqualTo(served).hasSize(4);
    }
  }

  /** Waits until export {@code name} has a client that wrote {@code bytes} and returns its clients. */
  private static JsonNode awaitClients(TestDaemon d, String name, long bytes) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      JsonNode clients = d.unix("GET", "/api/v1/exports/" + name, null).json().get("clients");
      if (!clients.isEmpty() && clients.get(0).get("bytesWritten").asLong() >= bytes) {
        return clients;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no client attached to " + name + " within 60 s");
      }
      Thread.sleep(20);
    }
  }
}
