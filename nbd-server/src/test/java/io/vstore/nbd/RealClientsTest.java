package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
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

  @Test
  void nbdinfoMapsAllocationDirtyBitmapAndDepth() throws Exception {
    disk.write(8 << 20, ByteBuffer.wrap(new byte[] {1, 2, 3}));
    String map = Peer.run(30, "nbdinfo", "--map", uri("disk"));
    // base:allocation: a hole, one 4 KiB data page, then a hole to the end.
    assertThat(map).containsPattern("\\s+0\\s+8388608\\s+3\\s+hole,zero")
        .containsPattern("\\s+8388608\\s+4096\\s+0\\s+data")
        .containsPattern("\\s+8392704\\s+58716160\\s+3\\s+hole,zero");
    String dirty = Peer.run(30, "nbdinfo", "--map=qemu:dirty-bitmap:vol/7", uri("disk"));
    assertThat(dirty).containsPattern("\\s+0\\s+1048576\\s+0\\s+clean")
        .containsPattern("\\s+1048576\\s+65536\\s+1\\s+dirty")
        .containsPattern("\\s+1114112\\s+65994752\\s+0\\s+clean");
    String depth = Peer.run(30, "nbdinfo", "--map=qemu:allocation-depth", uri("disk"));
    assertThat(depth).containsPattern("\\s+8388608\\s+4096\\s+1\\s").containsPattern("\\s+0\\s+8388608\\s+0\\s");
  }

  @Test
  void qemuImgInfoConvertAndCompare(@TempDir Path dir) throws Exception {
    byte[] data = new byte[3 << 20];
    new Random(7).nextBytes(data);
    disk.write(5 << 20, ByteBuffer.wrap(data));
    assertThat(Peer.run(30, "qemu-img", "info", uri("disk"))).contains("virtual size: 64 MiB");
    Path raw = dir.resolve("copy.raw");
    Peer.run(60, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri("disk"), raw.toString());
    Peer.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", uri("disk"), raw.toString());
    byte[] copy = Files.readAllBytes(raw);
    assertThat(ByteBuffer.wrap(copy, 5 << 20, data.length)).isEqualTo(ByteBuffer.wrap(data));
    // And back: a qcow2 written into the export through qemu-img convert -n.
    Path qcow2 = dir.resolve("src.qcow2");
    Peer.run(30, "qemu-img", "create", "-f", "qcow2", qcow2.toString(), "64M");
    Peer.run(30, "qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 10M 2M", qcow2.toString());
    Peer.run(60, "qemu-img", "convert", "-n", "-f", "qcow2", "-O", "raw", qcow2.toString(), uri("disk"));
    Peer.run(60, "qemu-img", "compare", "-f", "qcow2", "-F", "raw", qcow2.toString(), uri("disk"));
  }

  @Test
  void nbdcopyRoundTrips(@TempDir Path dir) throws Exception {
    byte[] data = new byte[(int) SIZE];
    Random r = new Random(11);
    for (int i = 0; i < data.length; i += 1 << 20) {
      if (r.nextBoolean()) {
        byte[] chunk = new byte[1 << 19];
        r.nextBytes(chunk);
        System.arraycopy(chunk, 0, data, i, chunk.length);
      }
    }
    Path src = dir.resolve("src.raw");
    Files.write(src, data);
    Peer.run(60, "nbdcopy", src.toString(), uri("disk"));
    Path back = dir.resolve("back.raw");
    Peer.run(60, "nbdcopy", uri("disk"), back.toString());
    assertThat(Files.mismatch(src, back)).isEqualTo(-1L);
    ByteBuffer all = ByteBuffer.allocate(data.length);
    disk.read(0, all);
    assertThat(all.array()).isEqualTo(data);
  }

  @Test
  void readOnlyExportRefusesWritesAndKeepsServing() throws Exception {
    MemoryBlockDevice ro = new MemoryBlockDevice("ro", 1 << 20);
    registry.add(new Export("ro", "", ro, true, List.of()));
    assertThat(Peer.run(30, "nbdinfo", "--is", "read-only", "--json", uri("ro"))).isNotNull();
    Peer.Result w = Peer.runAllowingFailure(30, "qemu-io", "-f", "raw", "-c", "write -P 1 0 4096", uri("ro"));
    assertThat(w.exit() != 0 || (w.out() + w.err()).contains("ermission") || (w.out() + w.err()).contains("not permitted"))
        .as("write to a read-only export must fail: %s %s", w.out(), w.err()).isTrue();
    assertThat(ro.allocatedPages()).isZero();
    Peer.run(30, "qemu-io", "-r", "-f", "raw", "-c", "read -P 0 0 4096", uri("ro"));
  }

  @Test
  void exportsCanBeAddedAndRemovedWhileServing() throws Exception {
    MemoryBlockDevice extra = new MemoryBlockDevice("extra", 2 << 20);
    registry.add(Export.of("extra", extra));
    Peer.run(30, "qemu-io", "-f", "raw", "-c", "write -P 7 0 4096", uri("extra"));
    assertThat(Peer.run(30, "nbdinfo", "--list", "nbd://127.0.0.1:" + server.port())).contains("extra");
    assertThat(registry.remove("extra")).isPresent();
    assertThat(Peer.runAllowingFailure(30, "nbdinfo", uri("extra")).exit()).isNotZero();
    assertThat(Peer.run(30, "nbdinfo", "--list", "nbd://127.0.0.1:" + server.port())).doesNotContain("extra");
  }
}
