package io.vstore.server.exports;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the daemon's NBD server listens, or that it has none. */
class ExportListenerTest {
  @TempDir Path tmp;

  private Path datastore() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 64L << 30).close();
    return ds;
  }

  @Test
  void aTakenNbdPortFailsTheStartWithAHintAndReleasesTheDatastore() throws Exception {
    Path ds = datastore();
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      DaemonConfig config = new DaemonConfig(List.of(ds), false, null, null, null,
          new InetSocketAddress("127.0.0.1", taken.getLocalPort()), null, 2);
      assertThatThrownBy(() -> Daemon.start(config, null))
          .hasMessageStartingWith("cannot serve NBD on 127.0.0.1:" + taken.getLocalPort() + ": ")
          .hasMessageContaining("--nbd-listen");
    }
    Datastore.open(ds, DatastoreOptions.defaults()).close();
  }

  @Test
  void aDaemonWithoutNbdListsNoExportsAndRefusesNewOnes() throws Exception {
    Path ds = datastore();
    DaemonConfig config = new DaemonConfig(List.of(ds), false, null, null, null, null, null, 2);
    try (Daemon daemon = Daemon.start(config, null)) {
      assertThat(daemon.exports().list()).isEmpty();
      assertThat(daemon.exports().nbdAddress()).isNull();
      assertThat(daemon.exports().connectionCount()).isZero();
      assertThatThrownBy(() -> daemon.exports().add("vm1", null, false, List.of(), null))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("serves no NBD");
    }
  }
}
