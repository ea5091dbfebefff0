package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.auth.TokenStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonTest {
  @TempDir Path tmp;

  @Test
  void servesTheUnixSocketWithoutCredentialsAndTcpOnlyWithAToken() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      TestDaemon.Reply local = d.unix("GET", "/api/v1/version", null);
      assertThat(local.status()).isEqualTo(200);
      assertThat(local.json().get("datastores").get(0).asText()).isEqualTo("ds");

      TestDaemon.Reply anonymous = d.tcp("GET", "/api/v1/version", null, null);
      assertThat(anonymous.status()).isEqualTo(401);
      assertThat(anonymous.contentType()).isEqualTo("application/problem+json");
      assertThat(anonymous.json().get("detail").asText()).contains("Bearer");

      assertThat(d.tcp("GET", "/api/v1/version", null, "vst_00000000_nope").status()).isEqualTo(401);
      assertThat(d.tcp("GET", "/api/v1/version", null, d.adminToken()).status()).isEqualTo(200);
      assertThat(d.tcp("GET", "/api/v1/nothing", null, d.adminToken()).status()).isEqualTo(404);
      assertThat(d.tcp("DELETE", "/api/v1/version", null, d.adminToken()).status()).isEqualTo(405);
    }
  }

  @Test
  void socketAndTokenFilesAreOwnerOnly() throws Exception {
    Path ds = tmp.resolve("ds");
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ds.resolve(Daemon.SOCKET))))
          .isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ds.resolve(TokenStore.ADMIN_FILE))))
          .isEqualTo("rw-------");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ds.resolve(TokenStore.FILE))))
          .isEqualTo("rw-------");
      assertThat(Files.readString(ds.resolve(TokenStore.FILE))).doesNotContain(d.adminToken().substring(13));
    }
    assertThat(ds.resolve(Daemon.SOCKET)).doesNotExist();
  }

  @Test
  void aSecondDaemonOnTheSameDatastoreIsRefused() throws Exception {
    Path ds = tmp.resolve("ds");
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      assertThatThrownBy(() -> Daemon.start(DaemonConfig.local(List.of(ds)), null))
          .hasMessageContaining("in use");
    }
    // Released on close: the datastore opens again.
    Datastore.open(ds, DatastoreOptions.defaults()).close();
  }

  @Test
  void theMetadataCacheBudgetIsSharedByTheDatastores() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    try (TestDaemon d = TestDaemon.start(null, a, b)) {
      for (ManagedDatastore ds : d.daemon().all()) {
        assertThat(ds.store().info().metadataCache().budget()).isEqualTo(DatastoreOptions.DEFAULT_METADATA_CACHE / 2);
      }
    }
    assertThatThrownBy(() -> new DaemonConfig(List.of(a, b), false, null, null, null, null, null, 2, 12L << 20))
        .hasMessageContaining("too small for 2 datastore(s): at least 8 MiB each");
  }

  @Test
  void plainHttpIsRefusedOffLoopback() {
    assertThatThrownBy(() -> new io.vstore.server.http.ApiServer.Options(List.of(),
        new java.net.InetSocketAddress("0.0.0.0", 8443), null, 10, java.time.Duration.ofSeconds(1)))
        .hasMessageContaining("not a loopback address");
  }

  @Test
  void servesItsOpenApiDocumentWithoutCredentials() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      TestDaemon.Reply doc = d.tcp("GET", "/api/v1/openapi.json", null, null);
      assertThat(doc.status()).isEqualTo(200);
      assertThat(doc.json().get("openapi").asText()).isEqualTo("3.1.0");
      assertThat(doc.json().get("paths").has("/api/v1/version")).isTrue();
    }
  }
}
