package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The datastore and volume commands end to end, through the same entry point as the launcher. */
final class VolumeCommandTest {
  @TempDir Path tmp;

  /** The result of one command line. */

  private CliRun vstore(String... args) {
    return CliRun.of(args);
  }

  private String ds() {
    return tmp.resolve("ds").toString();
  }

  @Test
  void createWriteReadInfoListDelete() throws IOException {
    assertThat(vstore("datastore", "init", "-D", ds(), "--capacity", "2G").exit()).isZero();
    assertThat(vstore("volume", "create", "-D", ds(), "vm1", "10G").exit()).isZero();
    byte[] data = new byte[3_000_000];
    new Random(1).nextBytes(data);
    Path in = Files.write(tmp.resolve("in.bin"), data);
    assertThat(vstore("volume", "write", "-D", ds(), "vm1", "1M", in.toString()).exit()).isZero();
    Path back = tmp.resolve("back.bin");
    assertThat(vstore("volume", "read", "-D", ds(), "vm1", "1M", "3000000", back.toString()).exit()).isZero();
    assertThat(Files.readAllBytes(back)).isEqualTo(data);

    JsonNode info = vstore("volume", "info", "-D", ds(), "vm1", "--json").json();
    assertThat(info.get("name").asText()).isEqualTo("vm1");
    assertThat(info.get("size").asLong()).isEqualTo(10L << 30);
    assertThat(info.get("allocated").asLong()).isBetween(3_000_000L, 3_100_000L);
    JsonNode list = vstore("volume", "list", "-D", ds(), "--json").json();
    assertThat(list).hasSize(1);
    JsonNode dsInfo = vstore("datastore", "info", "-D", ds(), "--json").json();
    assertThat(dsInfo.get("capacity").asLong()).isEqualTo(2L << 30);
    assertThat(dsInfo.get("provisioned").asLong()).isEqualTo(10L << 30);
    assertThat(dsInfo.get("overcommitRatio").asDouble()).isEqualTo(5.0);
    assertThat(dsInfo.get("alarms").isArray()).isTrue();
    CliRun check = vstore("datastore", "check", "-D", ds());
    assertThat(check.exit()).isZero();
    assertThat(check.out()).contains("no problems found");

    assertThat(vstore("volume", "delete", "-D", ds(), "vm1").exit()).isZero();
    assertThat(vstore("volume", "list", "-D", ds(), "--json").json()).isEmpty();
  }

  @Test
  void importAndExportRawAreSparse() throws IOException {
    Path raw = tmp.resolve("disk.raw");
    byte[] data = new byte[1 << 20];
    new Random(2).nextBytes(data);
    try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
      f.setLength(64L << 20);
      f.seek(8L << 20);
      f.write(data);
      f.seek(40L << 20);
      f.write(new byte[1 << 20]); // explicit zeros: must not be stored
    }
    assertThat(vstore("volume", "list", "-D", ds()).err()).contains("no datastore").contains("datastore init");
    vstore("datastore", "init", "-D", ds());
    CliRun imported = vstore("volume", "import", "-D", ds(), raw.toString(), "disk");
    assertThat(imported.err()).isEmpty();
    assertThat(imported.exit()).isZero();
    JsonNode info = vstore("volume", "info", "-D", ds(), "disk", "--json").json();
    assertThat(info.get("size").asLong()).isEqualTo(64L << 20);
    assertThat(info.get("mapped").asLong()).isEqualTo(1L << 20);
    Path out = tmp.resolve("out.raw");
    assertThat(vstore("volume", "export", "-D", ds(), "disk", out.toString()).exit()).isZero();
    assertThat(Files.size(out)).isEqualTo(64L << 20);
    assertThat(Files.mismatch(raw, out)).isEqualTo(-1);
    try (var image = io.vstore.vdisk.ImageFormats.open(out, true)) {
      long dataBytes = image.allocation(0, image.size()).stream()
          .filter(e -> e.kind() == io.vstore.blockstore.Extent.Kind.DATA).mapToLong(io.vstore.blockstore.Extent::length).sum();
      assertThat(dataBytes).as("exported file is sparse: only the data region is allocated").isLessThanOrEqualTo(2L << 20);
    }
    assertThat(vstore("volume", "export", "-D", ds(), "disk", out.toString()).err())
        .contains(out + " exists; use --force to overwrite it");
  }

  @Test
  void badInputGetsOneLineAndNonZeroExit() throws IOException {
    vstore("datastore", "init", "-D", ds());
    assertThat(vstore("volume", "create", "-D", ds(), "v", "1000")).satisfies(r -> {
      assertThat(r.exit()).isNotZero();
      assertThat(r.err().strip()).doesNotContain("\n").contains("multiple of 512");
    });
    assertThat(vstore("volume", "create", "-D", ds(), "v", "-5G").exit()).isNotZero();
    assertThat(vstore("volume", "create", "-D", ds(), "v", "100P").err()).contains("64 TiB");
    assertThat(vstore("volume", "create", "-D", ds(), "v", "ten").err()).contains("not a size");
    assertThat(vstore("volume", "info", "-D", ds(), "missing").err().strip()).isEqualTo(
        "vstore: no volume missing in datastore " + ds());
    Path file = Files.writeString(tmp.resolve("afile"), "x");
    assertThat(vstore("datastore", "info", "-D", file.toString()).err()).contains("is a file");
    vstore("volume", "create", "-D", ds(), "v", "1M");
    assertThat(vstore("volume", "read", "-D", ds(), "v", "1M", "1", tmp.resolve("o").toString()).err())
        .contains("outside the device");
    try (Datastore held = Datastore.open(tmp.resolve("ds"), DatastoreOptions.defaults())) {
      CliRun busy = vstore("volume", "list", "-D", ds());
      assertThat(busy.exit()).isNotZero();
      assertThat(busy.err()).contains("in use");
    }
    assertThat(vstore("volume", "import", "-D", ds(), tmp.resolve("nonexistent").toString(), "w").exit()).isNotZero();
    assertThat(vstore("volume", "list", "-D", ds(), "--json").json()).hasSize(1);
  }

  private static void run(Path dir, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("%s: %s", String.join(" ", command), out).isZero();
  }

  @Test
  void aBackingChainBecomesTheVolumesHistory() throws Exception {
    // A three-level qcow2 chain made by qemu-img and qemu-io; each level writes over the one below.
    run(tmp, "qemu-img", "create", "-q", "-f", "qcow2", "base.qcow2", "16M");
    run(tmp, "qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 4M", "-c", "write -P 0x22 8M 1M", "base.qcow2");
    run(tmp, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2");
    run(tmp, "qemu-io", "-f", "qcow2", "-c", "write -P 0x33 1M 64k", "-c", "write -z 8M 512k", "mid.qcow2");
    run(tmp, "qemu-img", "create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2");
    run(tmp, "qemu-io", "-f", "qcow2", "-c", "write -P 0x44 12M 4097", "top.qcow2");
    for (String level : new String[] {"base", "mid", "top"}) {
      run(tmp, "qemu-img", "convert", "-f", "qcow2", "-O", "raw", level + ".qcow2", level + ".raw");
    }
    vstore("datastore", "init", "-D", ds());
    CliRun imported = vstore("volume", "import", "-D", ds(), tmp.resolve("top.qcow2").toString(), "vm");
    assertThat(imported.err()).isEmpty();
    assertThat(imported.out()).contains("snapshots base.qcow2, mid.qcow2");
    String[][] views = {{"vm@base.qcow2", "base.raw"}, {"vm@mid.qcow2", "mid.raw"}, {"vm", "top.raw"}};
    for (String[] view : views) {
      Path out = tmp.resolve(view[0].replace('@', '_') + ".out");
      assertThat(vstore("volume", "read", "-D", ds(), view[0], "0", "16M", out.toString()).exit()).isZero();
      assertThat(Files.mismatch(out, tmp.resolve(view[1]))).as("%s reads as %s", view[0], view[1]).isEqualTo(-1);
    }
    JsonNode changes = vstore("cbt", "changes", "-D", ds(), "vm", "--since",
        vstore("snapshot", "list", "-D", ds(), "vm", "--json").json().get(1).get("changeId").asText(), "--json").json();
    assertThat(changes.get("extents")).hasSize(1); // only the top level's write
    assertThat(vstore("datastore", "check", "-D", ds()).exit()).isZero();
  }
}
