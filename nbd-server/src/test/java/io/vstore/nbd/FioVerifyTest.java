package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fio's nbd engine writes with checksummed blocks at queue depth 16, then verifies every block. */
@Tag("slow")
class FioVerifyTest {
  private static final long SIZE = "true".equals(System.getenv("CI")) ? 32L << 20 : 128L << 20;

  @Test
  void fioRandomWritesVerifyOverNbd() throws Exception {
    ScratchDevice disk = new ScratchDevice("fio", SIZE, SIZE);
    verify(disk);
    assertThat(disk.allocatedBytes()).isPositive();
  }

  @Test
  void fioRandomWritesVerifyOnAVolume(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults(), 0);
        Volume v = ds.createVolume("fio", SIZE)) {
      // Small verify reads go through the connection's io_uring, large ones through workers.
      assertThat(verify(v).ringReads()).as("reads served by the ring").isPositive();
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  private static NbdServer verify(BlockDevice disk) throws Exception {
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("fio", disk));
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
      String out = Peer.run(300, "fio", "--name=verify", "--ioengine=nbd", "--uri=nbd://127.0.0.1:" + server.port() + "/fio",
          "--rw=randwrite", "--bsrange=4k-256k", "--iodepth=16", "--size=" + SIZE, "--verify=crc32c",
          "--verify_fatal=1", "--do_verify=1", "--randrepeat=1", "--verify_state_save=0");
      assertThat(out).contains("verify").doesNotContain("verify: bad");
      return server;
    }
  }
}
