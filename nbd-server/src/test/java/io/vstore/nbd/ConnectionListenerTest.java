package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The server reports clients attaching to and leaving exports, with their byte counts. */
class ConnectionListenerTest {
  private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  private final BlockingQueue<NbdClient> left = new LinkedBlockingQueue<>();
  private ExportRegistry registry;
  private NbdServer server;

  @BeforeEach
  void start() throws Exception {
    registry = new ExportRegistry();
    registry.add(Export.of("a", new MemoryBlockDevice("a", 1 << 20)));
    registry.add(Export.of("b", new MemoryBlockDevice("b", 1 << 20)));
    server = NbdServer.start(registry, NbdServer.Options.loopback(), new ConnectionListener() {
      @Override
      public void connected(NbdClient client) {
        events.add("connected " + client.export());
      }

      @Override
      public void disconnected(NbdClient client) {
        events.add("disconnected " + client.export());
        left.add(client);
      }
    });
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  @Test
  void listsAttachedClientsWithTheirBytesAndReportsThem() throws Exception {
    try (TestClient a = TestClient.open(server.port(), "a", false);
        TestClient b = TestClient.open(server.port(), "b", true)) {
      assertThat(events.poll(10, TimeUnit.SECONDS)).startsWith("connected ");
      assertThat(events.poll(10, TimeUnit.SECONDS)).startsWith("connected ");
      assertThat(a.command(Nbd.CMD_WRITE, 0, 1, 0, 8192, new byte[8192])).isZero();
      assertThat(a.read(2, 0, 4096, 0).error()).isZero();

      List<NbdClient> clients = server.clients();
      assertThat(clients).extracting(NbdClient::export).containsExactly("a", "b");
      NbdClient first = clients.getFirst();
      assertThat(first.bytesWritten()).isEqualTo(8192);
      assertThat(first.bytesRead()).isEqualTo(4096);
      assertThat(first.remote().getAddress().isLoopbackAddress()).isTrue();
      assertThat(first.tls()).isFalse();
      assertThat(clients.get(1).id()).isGreaterThan(first.id());
      assertThat(server.clients("b")).hasSize(1);
      assertThat(server.clients("none")).isEmpty();

      a.send(Nbd.CMD_DISC, 0, 3, 0, 0, null);
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("disconnected a");
      NbdClient gone = left.poll(1, TimeUnit.SECONDS);
      assertThat(gone.bytesWritten()).isEqualTo(8192);
      assertThat(gone.id()).isEqualTo(first.id());
    }
    assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("disconnected b");
  }

  @Test
  void clientsThatOnlyListAreNotReported() throws Exception {
    try (TestClient c = new TestClient(server.port()).greet()) {
      assertThat(c.option(Nbd.OPT_LIST, new byte[0])).isNotEmpty();
      assertThat(server.clients()).isEmpty();
    }
    // A client that attaches afterwards is the first event: the lister left none.
    try (TestClient a = TestClient.open(server.port(), "a", false)) {
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("connected a");
    }
  }

  @Test
  void removingAnExportReportsItsClientsAsDisconnected() throws Exception {
    try (TestClient a = TestClient.open(server.port(), "a", false)) {
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("connected a");
      registry.remove("a");
      // remove() returns after the client is gone, so the event is already there.
      assertThat(events.poll(0, TimeUnit.SECONDS)).isEqualTo("disconnected a");
      assertThat(server.clients()).isEmpty();
      assertThat(a.closedByServer()).isTrue();
    }
  }
}
