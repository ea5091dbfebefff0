package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** fio's nbd engine writes with checksummed blocks at queue depth 16, then verifies every block. */
@Tag("slow")
class FioVerifyTest {
  @Test
  void fioRandomWritesVerifyOverNbd() throws Exception {
    long size = "true".equals(System.getenv("CI")) ? 32L << 20 : 128L << 20;
    ScratchDevice disk = new ScratchDevice("fio", size, size);
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("fio", disk));
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
      String out = Peer.run(300, "fio", "--name=verify", "--ioengine=nbd", "--uri=nbd://127.0.0.1:" + server.port() + "/fio",
          "--rw=randwrite", "--bsrange=4k-256k", "--iodepth=16", "--size=" + size, "--verify=crc32c",
          "--verify_fatal=1", "--do_verify=1", "--randrepeat=1", "--verify_state_save=0");
      assertThat(out).contains("verify").doesNotContain("verify: bad");
      assertThat(disk.allocatedBytes()).isPositive();
    }
  }
}
