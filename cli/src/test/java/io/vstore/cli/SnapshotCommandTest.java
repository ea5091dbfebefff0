package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** snapshot, clone, cbt and volume flatten end to end. */
final class SnapshotCommandTest {
  @TempDir Path tmp;


  private CliRun vstore(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "-D";
    all[args.length + 1] = tmp.resolve("ds").toString();
    return CliRun.of(all);
  }

  private Path file(String name, int size, long seed) throws IOException {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return Files.write(tmp.resolve(name), b);
  }

  @Test
  void cbtPinKeepsAChangeIdAndUnpinByNameOrId() throws IOException {
    assertThat(vstore("datastore", "init").exit()).isZero();
    assertThat(vstore("volume", "create", "vm", "64M").exit()).isZero();
    Path b = file("b.bin", 8192, 3);
    String id = vstore("volume", "info", "vm", "--json").json().get("changeId").asText();
    JsonNode pin = vstore("cbt", "pin", id, "--name", "nightly", "--json").json();
    assertThat(pin.get("changeId").asText()).isEqualTo(id);
    assertThat(pin.get("label").asText()).isEqualTo("nightly");
    assertThat(vstore("cbt", "pin", id).exit()).isZero(); // an unnamed pin of the same id
    vstore("volume", "write", "vm", "0", b.toString());
    String unpinned = vstore("volume", "info", "vm", "--json").json().get("changeId").asText();
    for (int i = 0; i < 20; i++) { // each command flushes: more generations than the recent window
      vstore("volume", "write", "vm", String.valueOf(1 << 20), b.toString());
    }
    JsonNode changes = vstore("cbt", "changes", "vm", "--since", id, "--json").json();
    assertThat(changes.get("extents")).hasSize(2);
    assertThat(changes.get("extents").get(1).get("offset").asLong()).isEqualTo(1L << 20);
    String pins = vstore("cbt", "pins", "vm").out();
    assertThat(pins).contains("VOLUME").contains(id).contains("nightly");
    assertThat(vstore("cbt", "pins", "--json").json()).hasSize(2);
    assertThat(vstore("cbt", "unpin", "nightly", "--json").json()).hasSize(1);
    CliRun missing = vstore("cbt", "unpin", "nightly");
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("no pin named nightly");
    assertThat(vstore("cbt", "unpin", id, "--json").json().get(0).get("label").asText()).isEmpty();
    CliRun pruned = vstore("cbt", "changes", "vm", "--since", unpinned);
    assertThat(pruned.exit()).isEqualTo(1);
    assertThat(pruned.err()).contains("is no longer tracked (pruned at generation");
  }

  @Test
  void snapshotCloneChangesRevertFlattenDelete() throws IOException {
    assertThat(vstore("datastore", "init").exit()).isZero();
    assertThat(vstore("volume", "create", "vm", "64M").exit()).isZero();
    Path a = file("a.bin", 1 << 20, 1);
    Path b = file("b.bin", 8192, 2);
    vstore("volume", "write", "vm", "0", a.toString());
    String firstId = vstore("volume", "info", "vm", "--json").json().get("changeId").asText();
    assertThat(vstore("snapshot", "create", "vm@base").exit()).isZero();
    vstore("volume", "write", "vm", "32M", b.toString());

    JsonNode changes = vstore("cbt", "changes", "vm", "--since", firstId, "--json").json();
    assertThat(changes.get("extents")).hasSize(1);
    assertThat(changes.get("extents").get(0).get("offset").asLong()).isEqualTo(32L << 20);
    assertThat(changes.get("extents").get(0).get("length").asLong()).isEqualTo(8192);
    assertThat(changes.get("changeId").asText()).startsWith(firstId.substring(0, firstId.indexOf('/') + 1));
    JsonNode all = vstore("cbt", "changes", "vm@base", "--since", "*", "--json").json();
    assertThat(all.get("extents")).hasSize(1);
    assertThat(all.get("extents").get(0).get("length").asLong()).isEqualTo(1L << 20);

    assertThat(vstore("clone", "create", "vm@base", "desk", "--count", "3").out()).contains("desk-1 ... desk-3");
    JsonNode clone = vstore("volume", "info", "desk-2", "--json").json();
    assertThat(clone.get("parent").asText()).isEqualTo("vm@base");
    assertThat(clone.get("shared").asLong()).isEqualTo(1L << 20);
    assertThat(clone.get("unique").asLong()).isZero();
    Path back = tmp.resolve("back.bin");
    vstore("volume", "read", "desk-2", "0", "1M", back.toString());
    assertThat(Files.mismatch(a, back)).isEqualTo(-1);

    CliRun refused = vstore("snapshot", "delete", "vm@base");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.err()).contains("desk-1, desk-2, desk-3");

    JsonNode snaps = vstore("snapshot", "list", "vm", "--json").json();
    assertThat(snaps).hasSize(1);
    assertThat(snaps.get(0).get("clones")).hasSize(3);

    assertThat(vstore("snapshot", "revert", "vm@base").exit()).isZero();
    vstore("volume", "read", "vm", "32M", "8192", back.toString(), "--force");
    assertThat(Files.readAllBytes(back)).containsOnly(0);

    for (String d : new String[] {"desk-1", "desk-2"}) {
      assertThat(vstore("volume", "delete", d).exit()).isZero();
    }
    assertThat(vstore("volume", "flatten", "desk-3").exit()).isZero();
    assertThat(vstore("volume", "info", "desk-3", "--json").json().get("parent").isNull()).isTrue();
    assertThat(vstore("snapshot", "delete", "vm@base").exit()).isZero();
    vstore("volume", "read", "desk-3", "0", "1M", back.toString(), "--force");
    assertThat(Files.mismatch(a, back)).isEqualTo(-1);
    assertThat(vstore("datastore", "check").exit()).isZero();
  }

  @Test
  void badSnapshotAndChangeIdInputGetsOneLine() {
    vstore("datastore", "init");
    vstore("volume", "create", "vm", "1M");
    assertThat(vstore("snapshot", "create", "vm").err()).contains("expected VOLUME@SNAPSHOT");
    assertThat(vstore("snapshot", "create", "vm@bad/name").err()).contains("bad snapshot name");
    assertThat(vstore("snapshot", "delete", "vm@none").err()).contains("no snapshot vm@none");
    assertThat(vstore("cbt", "changes", "vm", "--since", "nonsense").err()).contains("bad change id");
    assertThat(vstore("cbt", "changes", "vm", "--since", "00000000-0000-0000-0000-000000000000/0").err())
        .contains("not valid for volume vm");
    assertThat(vstore("clone", "create", "vm@none", "x").err()).contains("no snapshot vm@none");
  }

  private void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("%s: %s", String.join(" ", command), out).isZero();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"qcow2", "vmdk", "vpc"})
  void aVolumeWithSnapshotsExportsAsADeltaChain(String format) throws Exception {
    vstore("datastore", "init");
    vstore("volume", "create", "vm", "32M");
    vstore("volume", "write", "vm", "0", file("a.bin", 3 << 20, 1).toString());
    vstore("snapshot", "create", "vm@one");
    vstore("volume", "write", "vm", "1M", file("b.bin", 100_000, 2).toString());
    vstore("volume", "write", "vm", "20M", file("c.bin", 1 << 20, 3).toString());
    vstore("snapshot", "create", "vm@two");
    vstore("volume", "write", "vm", "2M", Files.write(tmp.resolve("zeros.bin"), new byte[1 << 20]).toString());
    vstore("volume", "write", "vm", "30M", file("d.bin", 5000, 4).toString());
    String ext = format.equals("vpc") ? "vhd" : format;
    CliRun exported = vstore("volume", "export", "vm", tmp.resolve("disk." + ext).toString(), "-O", format, "--chain");
    assertThat(exported.err()).isEmpty();
    assertThat(exported.out()).contains("disk-one." + ext + " <- disk-two." + ext + " <- disk." + ext);
    String[][] levels = {{"vm@one", "disk-one." + ext}, {"vm@two", "disk-two." + ext}, {"vm", "disk." + ext}};
    for (String[] level : levels) {
      Path raw = tmp.resolve(level[0].replace('@', '_') + ".raw");
      assertThat(vstore("volume", "export", level[0], raw.toString()).exit()).isZero();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int exit = Vstore.run(new String[] {"image", "compare", tmp.resolve(level[1]).toString(), raw.toString()},
          new PrintWriter(out, true), new PrintWriter(err, true));
      CliRun same = new CliRun(exit, out.toString(), err.toString());
      assertThat(same.exit()).as("vstore reads %s as %s: %s", level[1], level[0], same.out() + same.err()).isZero();
      if (!format.equals("vpc")) { // qemu reads neither VHD differencing images nor writes them
        run("qemu-img", "compare", "-f", format, "-F", "raw", level[1], raw.getFileName().toString());
        if (format.equals("qcow2")) {
          run("qemu-img", "check", "-f", format, level[1]);
        }
      }
    }
    // The head changed two ranges since vm@two (1 MiB zeroed, 5000 bytes written). qcow2 records the
    // zeros as zero clusters, a VMDK delta as zero grains, VHD allocates two 2 MiB blocks; none
    // holds the 4 MiB of data below it.
    long limit = switch (format) {
      case "qcow2" -> 1L << 20;
      case "vmdk" -> 2L << 20;
      default -> (4L << 20) + (256 << 10);
    };
    assertThat(java.nio.file.Files.size(tmp.resolve("disk." + ext)))
        .as("the top of the chain holds only the last changes").isLessThan(limit);
  }
}
