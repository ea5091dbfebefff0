package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad requests get a 4xx problem+json and change nothing: unknown objects, invalid names, bodies
 * over 1 MiB, wrong JSON types, missing or wrong tokens, too small a scope.
 */
class BadRequestsTest {
  /** Who sends a request over TCP. */
  enum Caller { ADMIN, READER, WRITER, NOBODY, STRANGER }

  /** One bad request and the status it must get. */
  record Case(Caller caller, String method, String path, String body, int status) {
    @Override
    public String toString() {
      return method + " " + path + " as " + caller + " -> " + status;
    }
  }

  @TempDir static Path tmp;
  private static TestDaemon daemon;
  private static String reader;
  private static String writer;

  @BeforeAll
  static void start() throws Exception {
    daemon = TestDaemon.start(null, tmp.resolve("ds"));
    reader = daemon.daemon().tokens().create("reader", Scope.READ).secret();
    writer = daemon.daemon().tokens().create("writer", Scope.WRITE).secret();
    ok(daemon.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}"), 201);
    ok(daemon.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s1\"}"), 201);
    ok(daemon.unix("POST", "/api/v1/volumes/vm1/snapshots/s1/clones", "{\"name\": \"c1\"}"), 201);
    ok(daemon.unix("POST", "/api/v1/vms", "{\"name\": \"web\", \"disks\": [65536]}"), 201);
    ok(daemon.unix("POST", "/api/v1/vms/web/snapshots", "{\"name\": \"a\"}"), 201);
  }

  private static void ok(TestDaemon.Reply r, int status) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
  }

  @AfterAll
  static void stop() throws Exception {
    daemon.close();
  }

  static List<Case> cases() {
    String vol = "{\"name\": \"new\", \"size\": 512}";
    String huge = "{\"name\": \"" + "x".repeat((1 << 20) + 10) + "\", \"size\": 512}";
    return List.of(
        // unknown objects
        new Case(Caller.READER, "GET", "/api/v1/volumes/nope", null, 404),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/nope", null, 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/nope/snapshots", "{\"name\": \"s\"}", 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/nope/flatten", null, 404),
        new Case(Caller.READER, "GET", "/api/v1/volumes/vm1/snapshots/nope", null, 404),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/vm1/snapshots/nope", null, 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots/nope/revert", null, 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots/nope/clones", "{\"name\": \"c\"}", 404),
        new Case(Caller.READER, "GET", "/api/v1/volumes/nope/changes?since=*", null, 404),
        new Case(Caller.READER, "GET", "/api/v1/vms/nope", null, 404),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/vms/nope", null, 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/vms/nope/snapshots", "{\"name\": \"s\"}", 404),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/vms/web/snapshots/nope", null, 404),
        new Case(Caller.READER, "GET", "/api/v1/pools/nope", null, 404),
        new Case(Caller.READER, "GET", "/api/v1/datastores/nope", null, 404),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes?datastore=nope", vol, 404),
        // invalid names
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"-bad\", \"size\": 512}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"a b\", \"size\": 512}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"" + "n".repeat(129) + "\", \"size\": 512}",
            400),
        new Case(Caller.READER, "GET", "/api/v1/volumes/a@b", null, 400),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/_x", null, 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s@2\"}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots/s1/clones", "{\"names\": [\"ok\", \"-no\"]}",
            400),
        new Case(Caller.ADMIN, "POST", "/api/v1/vms", "{\"name\": \"" + "v".repeat(65) + "\", \"disks\": [512]}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/vms/web/snapshots", "{\"name\": \".x\"}", 400),
        // bad values and wrong JSON types
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\", \"size\": 100}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\", \"size\": -512}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\", \"size\": \"512\"}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\", \"size\": 512.5}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": 5, \"size\": 512}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": [\"new\"], \"size\": 512}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\"}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"new\", \"size\": 512, \"extra\": 1}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "[1, 2]", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": ", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", null, 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": true}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots/s1/clones", "{\"names\": \"x\"}", 400),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/snapshots/s1/clones", "{\"name\": \"x\", \"count\": \"3\"}",
            400),
        new Case(Caller.ADMIN, "POST", "/api/v1/vms", "{\"name\": \"db\", \"disks\": 512}", 400),
        new Case(Caller.ADMIN, "PATCH", "/api/v1/datastores/ds", "{\"warningPercent\": \"50\"}", 400),
        new Case(Caller.ADMIN, "PATCH", "/api/v1/datastores/ds", "{\"warningPercent\": 99}", 400),
        new Case(Caller.READER, "GET", "/api/v1/volumes?limit=-1", null, 400),
        new Case(Caller.READER, "GET", "/api/v1/volumes/vm1/changes?since=vm1", null, 400),
        new Case(Caller.READER, "GET", "/api/v1/volumes/vm1/changes?since=*&length=x", null, 400),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/vm1?recursive=yes", null, 400),
        // refused in the current state
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/vm1", null, 409),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/vm1?recursive=true", null, 409),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/vm1/snapshots/s1", null, 409),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", "{\"name\": \"c1\", \"size\": 512}", 409),
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes/vm1/flatten", null, 409),
        new Case(Caller.ADMIN, "DELETE", "/api/v1/volumes/web-disk0", null, 409),
        // too large
        new Case(Caller.ADMIN, "POST", "/api/v1/volumes", huge, 413),
        // credentials and scopes
        new Case(Caller.NOBODY, "GET", "/api/v1/volumes", null, 401),
        new Case(Caller.NOBODY, "POST", "/api/v1/volumes", vol, 401),
        new Case(Caller.STRANGER, "DELETE", "/api/v1/volumes/c1", null, 401),
        new Case(Caller.READER, "POST", "/api/v1/volumes", vol, 403),
        new Case(Caller.READER, "DELETE", "/api/v1/volumes/c1", null, 403),
        new Case(Caller.READER, "POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s9\"}", 403),
        new Case(Caller.READER, "POST", "/api/v1/volumes/vm1/snapshots/s1/revert", null, 403),
        new Case(Caller.READER, "POST", "/api/v1/volumes/vm1/snapshots/s1/clones", "{\"name\": \"c9\"}", 403),
        new Case(Caller.READER, "POST", "/api/v1/vms/web/snapshots", "{\"name\": \"b\"}", 403),
        new Case(Caller.READER, "DELETE", "/api/v1/vms/web", null, 403),
        new Case(Caller.WRITER, "PATCH", "/api/v1/datastores/ds", "{\"criticalPercent\": 95}", 403));
  }

  /** Returns what the datastore holds, as text: volumes with change ids, snapshots, settings, VMs. */
  private static String state() throws Exception {
    ManagedDatastore ds = daemon.daemon().byName(null);
    Datastore store = ds.store();
    List<String> out = new ArrayList<>();
    for (VolumeInfo v : store.volumes()) {
      out.add(v.name() + " " + v.size() + " " + v.changeId() + " " + v.parent());
      for (SnapshotInfo s : store.snapshots(v.name())) {
        out.add("  @" + s.name() + " " + s.clones());
      }
    }
    DatastoreInfo i = store.info();
    out.add("capacity " + i.capacity() + " " + i.warningPercent() + " " + i.criticalPercent());
    out.add("vms " + ds.inventory().vms().list());
    out.add("pools " + ds.inventory().pools().list());
    return String.join("\n", out);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void getsAProblemAndChangesNothing(Case c) throws Exception {
    String before = state();
    String token = switch (c.caller()) {
      case ADMIN -> daemon.adminToken();
      case READER -> reader;
      case WRITER -> writer;
      case NOBODY -> null;
      case STRANGER -> "vst_00000000_not-a-token";
    };
    TestDaemon.Reply r = daemon.tcp(c.method(), c.path(), c.body(), token);
    assertThat(r.status()).as(r.body()).isEqualTo(c.status());
    assertThat(r.contentType()).isEqualTo("application/problem+json");
    assertThat(r.json().get("status").asInt()).isEqualTo(c.status());
    assertThat(r.json().get("detail").asText()).isNotBlank().doesNotContain("\n");
    assertThat(state()).isEqualTo(before);
  }
}
