package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Drives exports with nbdinfo, qemu-img and qemu-io. */
class RealClientsTest {
  private static final long SIZE = 64L << 20;
  private MemoryBlockDevice disk;
  private ExportRegistry registry;
  private NbdServer server;

  @BeforeEach
  void start() throws Exception {
    disk = new MemoryBlockDevice("disk", SIZE);
    registry = new ExportRegistry();
    registry.add(new Export("disk", "test disk", disk, false, List.of(
        MetaContexts.dirtyBitmap("vol/7", SIZE, (off, len) -> List.of(new ChangedAreas.Area(1 << 20, 65536))))));
    server = NbdServer.start(registry, NbdServer.Options.loopback());
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  private String uri(String name) {
    return "nbd://127.0.0.1:" + server.port() + "/" + name;
  }

  @Test
  void nbdinfoListsExports() {
    String out = Peer.run(30, "nbdinfo", "--list", "--json", "nbd://127.0.0.1:" + server.port());
    assertThat(out).contains("\"export-name\": \"disk\"").contains("test disk").contains("\"export-size\": " + SIZE);
  }

  @Test
  void qemuIoWritesAndReadsPatterns() throws Exception {
    Peer.run(60, "qemu-io", "-f", "raw", "-c", "write -P 0xab 4096 65536", "-c", "write -z 1M 1M",
        "-c", "discard 2M 64k", "-c", "read -P 0xab 4096 65536", "-c", "read -P 0 1M 1M", uri("disk"));
    ByteBuffer b = ByteBuffer.allocate(65536);
    disk.read(4096, b);
    assertThat(b.array()).containsOnly((byte) 0xab);
  }
}
