package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vm and pool commands end to end, through the same entry point as the launcher. */
final class EngineCommandTest {
  @TempDir Path tmp;


  private CliRun vstore(String... args) {
    return CliRun.of(args);
  }

  private CliRun ok(String... args) {
    CliRun r = vstore(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    return r;
  }

  private void fails(String message, String... args) {
    CliRun r = vstore(args);
    assertThat(r.exit()).as(String.join(" ", args)).isNotZero();
    assertThat(r.err()).contains(message);
    assertThat(r.err().strip().lines()).as("one-line error").hasSize(1);
  }

  @Test
  void vmsSnapshotsAndPoolsFromTheCommandLine() throws IOException {
    String ds = tmp.resolve("ds").toString();
    ok("datastore", "init", "-D", ds);
    Path cfg = Files.writeString(tmp.resolve("vm.json"), "{\"cpus\": 4, \"memory\": \"8G\"}");
    ok("vm", "create", "-D", ds, "gold", "--disk", "64M", "--disk", "1M", "--config", cfg.toString());
    JsonNode vms = ok("vm", "list", "-D", ds, "--json").json();
    assertThat(vms).hasSize(1);
    assertThat(vms.get(0).get("disks").get(1).asText()).isEqualTo("gold-disk1");
    assertThat(vms.get(0).get("config").get("cpus").asInt()).isEqualTo(4);

    byte[] data = new byte[1 << 20];
    new java.util.Random(1).nextBytes(data);
    ok("volume", "write", "-D", ds, "gold-disk0", "0", Files.write(tmp.resolve("data"), data).toString());
    ok("vm", "snapshot", "create", "-D", ds, "gold@v1", "-m", "clean install");
    ok("vm", "snapshot", "create", "-D", ds, "gold@v2");
    ok("vm", "revert", "-D", ds, "gold@v1");
    ok("vm", "snapshot", "create", "-D", ds, "gold@v3");
    CliRun tree = ok("vm", "snapshot", "list", "-D", ds, "gold");
    assertThat(tree.out()).contains("v1").contains("  v2").contains("  v3 (current)");
    JsonNode info = ok("vm", "info", "-D", ds, "gold", "--json").json();
    assertThat(info.get("current").asText()).isEqualTo("v3");
    assertThat(info.get("disks").get(0).get("size").asLong()).isEqualTo(64L << 20);
    assertThat(info.get("snapshots")).hasSize(3);

    ok("pool", "create", "-D", ds, "lab", "--from", "gold@v1", "--count", "4", "--persistent-disk", "1M",
        "--disposable-disk", "1M");
    JsonNode pools = ok("pool", "list", "-D", ds, "--json").json();
    assertThat(pools.get(0).get("desktopCount").asInt()).isEqualTo(4);
    assertThat(pools.get(0).get("provisioned").asLong()).isEqualTo(4 * ((64L << 20) + 3 * (1L << 20)));
    JsonNode pool = ok("pool", "info", "-D", ds, "lab", "--json").json();
    assertThat(pool.get("pool").get("desktops")).hasSize(4);
    assertThat(pool.get("space").get("baseAllocated").asLong()).isBetween(1L << 20, 2L << 20);
    assertThat(pool.get("space").get("ratio").asDouble()).isGreaterThan(100);
    assertThat(ok("pool", "info", "-D", ds, "lab").out()).contains("savings ratio");
    ok("pool", "recompose", "-D", ds, "lab", "--from", "gold@v3");
    ok("pool", "refresh", "-D", ds, "lab", "--desktop", "lab-2");
    ok("pool", "refresh", "-D", ds, "lab");
    assertThat(ok("pool", "info", "-D", ds, "lab", "--json").json().get("pool").get("base").asText())
        .isEqualTo("gold@v3");

    fails("bad VM name", "vm", "create", "-D", ds, "no/slash", "--disk", "1M");
    fails("expected VM@SNAPSHOT", "vm", "snapshot", "create", "-D", ds, "gold");
    fails("no VM ghost", "vm", "info", "-D", ds, "ghost");
    fails("is not valid JSON", "vm", "create", "-D", ds, "x", "--disk", "1M", "--config",
        Files.writeString(tmp.resolve("bad.json"), "{").toString());
    fails("pool lab is built from gold@v3", "vm", "delete", "-D", ds, "gold");
    fails("no pool nope", "pool", "refresh", "-D", ds, "nope");
    fails("no desktop lab-9", "pool", "refresh", "-D", ds, "lab", "--desktop", "lab-9");

    // What the inventory owns is deleted through vm and pool, never behind their back.
    fails("volume gold-disk0 belongs to VM gold", "volume", "delete", "-D", ds, "gold-disk0");
    fails("snapshot gold-disk0@v1 belongs to VM gold", "snapshot", "delete", "-D", ds, "gold-disk0@v1");
    String desktopVolume = null;
    for (JsonNode v : ok("volume", "list", "-D", ds, "--json").json()) {
      if (v.get("name").asText().startsWith("lab-1-")) {
        desktopVolume = v.get("name").asText();
      }
    }
    assertThat(desktopVolume).as("a volume of desktop lab-1").isNotNull();
    fails("belongs to desktop pool lab", "volume", "delete", "-D", ds, desktopVolume);
    ok("snapshot", "create", "-D", ds, "gold-disk0@manual");
    ok("snapshot", "delete", "-D", ds, "gold-disk0@manual"); // a snapshot the user took stays theirs

    ok("pool", "delete", "-D", ds, "lab");
    ok("vm", "snapshot", "delete", "-D", ds, "gold@v1");
    assertThat(ok("vm", "snapshot", "list", "-D", ds, "gold", "--json").json()).hasSize(2);
    ok("vm", "delete", "-D", ds, "gold");
    assertThat(ok("vm", "list", "-D", ds, "--json").json()).isEmpty();
    assertThat(ok("volume", "list", "-D", ds, "--json").json()).isEmpty();
    assertThat(ok("datastore", "check", "-D", ds).out()).contains("no problems found");
  }

  @Test
  void mediaFilesAreAddedListedShownRemovedAndDeletedWithTheVm() throws IOException {
    String ds = tmp.resolve("ds").toString();
    ok("datastore", "init", "-D", ds);
    ok("vm", "create", "-D", ds, "web", "--disk", "1M");
    byte[] iso = new byte[5000];
    new java.util.Random(1).nextBytes(iso);
    Path file = Files.write(tmp.resolve("install.iso"), iso);
    Path nvram = Files.write(tmp.resolve("web.nvram"), "efi vars".getBytes());
    assertThat(ok("vm", "media", "add", "-D", ds, "web", file.toString()).out())
        .startsWith("added media file install.iso (cdrom, ");
    ok("vm", "media", "add", "-D", ds, "web", nvram.toString(), "--role", "nvram", "--name", "efi.nvram");
    JsonNode media = ok("vm", "media", "list", "-D", ds, "web", "--json").json();
    assertThat(media).hasSize(2);
    assertThat(media.get(0).get("size").asLong()).isEqualTo(iso.length);
    assertThat(media.get(0).get("sha256").asText()).isEqualTo(java.util.HexFormat.of().formatHex(sha256(iso)));
    assertThat(media.get(1).get("role").asText()).isEqualTo("nvram");
    assertThat(ok("vm", "info", "-D", ds, "web").out()).contains("media file efi.nvram (nvram, 8 B");
    assertThat(ok("vm", "info", "-D", ds, "web", "--json").json().get("media")).hasSize(2);
    fails("VM web already has a media file install.iso", "vm", "media", "add", "-D", ds, "web", file.toString());
    fails("bad media role 'tape'", "vm", "media", "add", "-D", ds, "web", file.toString(), "--role", "tape",
        "--name", "x.iso");
    fails("is not a file", "vm", "media", "add", "-D", ds, "web", tmp.resolve("nope.iso").toString());
    fails("belongs to VM web", "volume", "delete", "-D", ds, "web-media0");
    ok("vm", "media", "remove", "-D", ds, "web", "install.iso");
    fails("VM web has no media file install.iso", "vm", "media", "remove", "-D", ds, "web", "install.iso");
    assertThat(ok("vm", "media", "list", "-D", ds, "web", "--json").json()).hasSize(1);
    ok("vm", "delete", "-D", ds, "web");
    assertThat(ok("volume", "list", "-D", ds, "--json").json()).isEmpty();
    assertThat(ok("datastore", "check", "-D", ds).out()).contains("no problems found");
  }

  private static byte[] sha256(byte[] b) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
