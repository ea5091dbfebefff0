package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vstore ovf probe|import|export} end to end, through the same entry point as the launcher. */
final class OvfCommandTest {
  @TempDir Path tmp;

  private CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  @Test
  void exportProbeAndImportAVm() throws IOException {
    String ds = tmp.resolve("ds").toString();
    ok("datastore", "init", "-D", ds);
    Path cfg = Files.writeString(tmp.resolve("vm.json"), "{\"cpus\": 2, \"memoryMiB\": 768}");
    ok("vm", "create", "-D", ds, "web", "--disk", "4M", "--config", cfg.toString());
    byte[] data = new byte[65536];
    new java.util.Random(7).nextBytes(data);
    ok("volume", "write", "-D", ds, "web-disk0", "0", Files.write(tmp.resolve("data"), data).toString());
    String ova = tmp.resolve("web.ova").toString();
    ok("ovf", "export", "-D", ds, "web", "--to", ova, "--sha512", "--format", "ovf2");

    JsonNode probe = ok("ovf", "probe", ova, "--json").json();
    assertThat(probe.get("ovfVersion").asText()).isEqualTo("2.x");
    JsonNode vm = probe.get("systems").get(0);
    assertThat(vm.get("cpus").asInt()).isEqualTo(2);
    assertThat(vm.get("memoryBytes").asLong()).isEqualTo(768L << 20);
    assertThat(probe.get("disks").get(0).get("capacityBytes").asLong()).isEqualTo(4L << 20);
    assertThat(probe.get("disks").get(0).get("format").asText()).isEqualTo("vmdk/streamOptimized");
    assertThat(ok("ovf", "probe", ova).out()).contains("VM web").contains("2 CPU");

    ok("ovf", "import", "-D", ds, ova, "--name", "web2");
    JsonNode info = ok("vm", "info", "-D", ds, "web2", "--json").json();
    assertThat(info.get("config").get("ovf").get("cpus").asInt()).isEqualTo(2);
    Path back = tmp.resolve("back");
    ok("volume", "read", "-D", ds, "web2-disk0", "0", "65536", back.toString());
    assertThat(Files.readAllBytes(back)).isEqualTo(data);

    CliRun fromStdin;
    try (java.io.InputStream in = Files.newInputStream(Path.of(ova))) {
      fromStdin = ScopedValue.where(StdIo.STREAMS, new StdIo.Streams(in, new java.io.ByteArrayOutputStream()))
          .call(() -> CliRun.of("ovf", "import", "-D", ds, "-", "--name", "web3"));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    assertThat(fromStdin.exit()).as(fromStdin.err()).isZero();
    Path back3 = tmp.resolve("back3");
    ok("volume", "read", "-D", ds, "web3-disk0", "0", "65536", back3.toString());
    assertThat(Files.readAllBytes(back3)).isEqualTo(data);

    CliRun again = CliRun.of("ovf", "import", "-D", ds, ova, "--name", "web2");
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("VM web2 already exists");
    assertThat(again.err().strip().lines()).hasSize(1);
    CliRun bad = CliRun.of("ovf", "probe", Files.writeString(tmp.resolve("x.ovf"), "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>").toString());
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.err()).contains("DOCTYPE declarations are refused");
  }

  @Test
  void aDiskThatDisagreesWithTheManifestIsRefusedAndLeavesNothing() throws IOException {
    String ds = tmp.resolve("ds").toString();
    ok("datastore", "init", "-D", ds);
    ok("vm", "create", "-D", ds, "web", "--disk", "4M");
    byte[] data = new byte[65536];
    new java.util.Random(11).nextBytes(data);
    ok("volume", "write", "-D", ds, "web-disk0", "0", Files.write(tmp.resolve("data"), data).toString());
    Path ova = tmp.resolve("web.ova");
    ok("ovf", "export", "-D", ds, "web", "--to", ova.toString());
    // Random bytes are stored verbatim in the grain's deflate stream: flipping one of them leaves
    // a valid VMDK whose digest alone is wrong.
    byte[] pkg = Files.readAllBytes(ova);
    int at = indexOf(pkg, java.util.Arrays.copyOfRange(data, 30000, 30032));
    assertThat(at).as("the disk's bytes in the OVA").isNotNegative();
    pkg[at + 7] ^= 0x5a;
    Files.write(ova, pkg);

    CliRun r = CliRun.of("ovf", "import", "-D", ds, ova.toString(), "--name", "copy");
    assertThat(r.exit()).isNotZero();
    assertThat(r.err().strip().lines()).hasSize(1);
    assertThat(r.err()).contains("manifest mismatch").contains(ova.toString()).contains(".vmdk");
    assertThat(ok("vm", "list", "-D", ds).out()).doesNotContain("copy");
    assertThat(ok("volume", "list", "-D", ds).out()).doesNotContain("copy");
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      if (java.util.Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    return -1;
  }
}
