package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code image snapshot}, {@code image rebase} and {@code image resize} of qcow2 through the
 * command line: exit codes, the one-line errors, the JSON of {@code snapshot -l --json}, and the
 * content each verb leaves (read back with vstore; the qemu-img comparisons live in vdisk-formats).
 */
class ImageVerbsCommandTest {
  @TempDir Path dir;

  private CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  private String p(String name) {
    return dir.resolve(name).toString();
  }

  private static byte[] content(String file) throws Exception {
    try (DiskImage d = ImageFormats.open(Path.of(file), true)) {
      byte[] b = new byte[(int) d.size()];
      d.read(0, ByteBuffer.wrap(b));
      return b;
    }
  }

  private static void write(String file, long offset, byte[] data) throws Exception {
    try (DiskImage d = ImageFormats.open(Path.of(file), false)) {
      d.write(offset, ByteBuffer.wrap(data));
    }
  }

  @Test
  void snapshotCreateListApplyDelete() throws Exception {
    ok("image", "create", "-f", "qcow2", p("s.qcow2"), "4M");
    byte[] data = new byte[1 << 20];
    new Random(7).nextBytes(data);
    write(p("s.qcow2"), 0, data);
    byte[] before = content(p("s.qcow2"));
    ok("image", "snapshot", "-c", "base", p("s.qcow2"));
    write(p("s.qcow2"), 4096, new byte[8192]);

    CliRun list = ok("image", "snapshot", "-l", p("s.qcow2"));
    assertThat(list.out()).startsWith("Snapshot list:\nID        TAG").contains("1         base");
    JsonNode json = ok("image", "snapshot", "-l", "--json", p("s.qcow2")).json();
    assertThat(json.isArray()).isTrue();
    assertThat(json.get(0).get("id").asText()).isEqualTo("1");
    assertThat(json.get(0).get("name").asText()).isEqualTo("base");
    assertThat(json.get(0).get("diskSize").asLong()).isEqualTo(4L << 20);
    assertThat(json.get(0).get("vmStateSize").asLong()).isZero();
    assertThat(json.get(0).has("dateSec")).isTrue();

    CliRun dup = CliRun.of("image", "snapshot", "-c", "base", p("s.qcow2"));
    assertThat(dup.exit()).isEqualTo(1);
    assertThat(dup.err().strip()).doesNotContain("\n").contains("already has a snapshot 'base'");

    ok("image", "snapshot", "-a", "base", p("s.qcow2"));
    assertThat(content(p("s.qcow2"))).isEqualTo(before);
    ok("image", "snapshot", "-d", "1", p("s.qcow2"));
    assertThat(ok("image", "snapshot", "-l", p("s.qcow2")).out()).isEmpty();
    assertThat(ok("image", "check", p("s.qcow2")).out()).contains("No errors were found");

    CliRun missing = CliRun.of("image", "snapshot", "-a", "nope", p("s.qcow2"));
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("has no snapshot 'nope'");
    CliRun two = CliRun.of("image", "snapshot", "-l", "-d", "x", p("s.qcow2"));
    assertThat(two.exit()).isEqualTo(2);
    ok("image", "create", "-f", "raw", p("r.raw"), "1M");
    CliRun raw = CliRun.of("image", "snapshot", "-l", p("r.raw"));
    assertThat(raw.exit()).isEqualTo(1);
    assertThat(raw.err()).contains("internal snapshots of raw images");
  }

  @Test
  void rebaseKeepsTheContentAndUnsafeOnlyTheReference() throws Exception {
    ok("image", "create", "-f", "qcow2", p("old.qcow2"), "2M");
    byte[] a = new byte[2 << 20];
    Arrays.fill(a, (byte) 0x41);
    write(p("old.qcow2"), 0, a);
    ok("image", "create", "-f", "qcow2", p("new.qcow2"), "2M");
    ok("image", "create", "-f", "qcow2", "-b", "old.qcow2", "-F", "qcow2", p("top.qcow2"));
    write(p("top.qcow2"), 65536, new byte[] {1, 2, 3});
    byte[] before = content(p("top.qcow2"));

    ok("image", "rebase", "-b", "new.qcow2", p("top.qcow2"));
    assertThat(content(p("top.qcow2"))).isEqualTo(before);
    assertThat(ok("image", "info", p("top.qcow2")).out()).contains("backing file: new.qcow2");
    ok("image", "rebase", "-u", "-b", "old.qcow2", "-F", "qcow2", p("top.qcow2"));
    assertThat(content(p("top.qcow2"))).isEqualTo(before); // top now holds everything old provided
    ok("image", "rebase", "-b", "", p("top.qcow2"));
    assertThat(ok("image", "info", p("top.qcow2")).out()).doesNotContain("backing file");
    assertThat(content(p("top.qcow2"))).isEqualTo(before);
    assertThat(ok("image", "check", p("top.qcow2")).out()).contains("No errors were found");

    CliRun noB = CliRun.of("image", "rebase", p("top.qcow2"));
    assertThat(noB.exit()).isEqualTo(2);
  }

  @Test
  void resizeQcow2GrowsAndShrinksWithShrink() throws Exception {
    ok("image", "create", "-f", "qcow2", p("g.qcow2"), "1M");
    ok("image", "resize", p("g.qcow2"), "+3M");
    assertThat(ok("image", "info", "--json", p("g.qcow2")).json().get("virtualSize").asLong()).isEqualTo(4L << 20);
    CliRun refused = CliRun.of("image", "resize", p("g.qcow2"), "-1M");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("use --shrink");
    ok("image", "resize", "--shrink", p("g.qcow2"), "-1M");
    assertThat(ok("image", "info", "--json", p("g.qcow2")).json().get("virtualSize").asLong()).isEqualTo(3L << 20);
    assertThat(ok("image", "check", p("g.qcow2")).out()).contains("No errors were found");
  }
}
