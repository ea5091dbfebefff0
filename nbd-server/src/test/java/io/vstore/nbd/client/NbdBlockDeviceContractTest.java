package io.vstore.nbd.client;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/** The BlockDevice contract through vstore's own NBD server, with structured replies. */
class NbdBlockDeviceContractTest extends BlockDeviceContract {
  private final List<NbdServer> servers = new ArrayList<>();

  @Override
  protected BlockDevice create(long size) throws IOException {
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("disk", new MemoryBlockDevice("disk", size)));
    NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback());
    servers.add(server);
    return NbdBlockDevice.connect(new NbdAddress("127.0.0.1", server.port(), "disk", false), NbdBlockDevice.Options.defaults());
  }

  @AfterEach
  void stopServers() throws IOException {
    for (NbdServer s : servers) {
      s.close();
    }
  }
}
