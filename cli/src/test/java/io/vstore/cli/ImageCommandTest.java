package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageCommandTest {
  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    out.getBuffer().setLength(0);
    err.getBuffer().setLength(0);
    return Vstore.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  private String p(String name) {
    return dir.resolve(name).toString();
  }

  @Test
  void createInfoCheckMapAsQemuImgDoes() throws Exception {
    assertThat(run("image", "create", p("a.qcow2"), "64M", "-f", "qcow2", "-o", "cluster_size=4096,compat=0.10"))
        .as(err.toString()).isZero();
    assertThat(run("image", "info", p("a.qcow2"), "--json")).isZero();
    assertThat(out.toString()).contains("\"format\" : \"qcow2\"").contains("\"virtualSize\" : 67108864")
        .contains("\"clusterSize\" : 4096").contains("\"compat\" : \"0.10\"");
    assertThat(run("image", "check", p("a.qcow2"))).isZero();
    assertThat(out.toString()).contains("No errors were found on the image.");
    assertThat(run("image", "create", p("b.qcow2"), "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2")).isZero();
    assertThat(run("image", "info", p("b.qcow2"), "--backing-chain")).isZero();
    assertThat(out.toString()).contains("backing file: a.qcow2").contains("image: " + p("b.qcow2"))
        .contains("virtual size: 64.0 MiB (67108864 bytes)");
    assertThat(run("image", "map", p("b.qcow2"), "--json")).isZero();
    assertThat(out.toString()).contains("\"kind\" : \"hole\"").contains("\"length\" : 67108864");
  }

  @Test
  void checkExitCodesAreQemuImgs() throws Exception {
    assertThat(run("image", "create", p("c.qcow2"), "4M", "-f", "qcow2")).isZero();
    Path raw = dir.resolve("data.raw");
    byte[] data = new byte[1 << 20];
    new Random(1).nextBytes(data);
    Files.write(raw, data);
    assertThat(run("image", "convert", raw.toString(), p("d.qcow2"), "-O", "qcow2")).as(err.toString()).isZero();
    long rtOffset;
    long block;
    try (RandomAccessFile f = new RandomAccessFile(p("d.qcow2"), "rw")) {
      f.seek(48);
      rtOffset = f.readLong();
      f.seek(rtOffset);
      block = f.readLong();
      long extra = (f.length() + 65535) / 65536;
      f.setLength((extra + 1) * 65536);
      f.seek(block + 2 * extra);
      f.writeShort(1);
    }
    assertThat(run("image", "check", p("d.qcow2"))).isEqualTo(3);
    assertThat(out.toString()).contains("1 leaked clusters were found on the image.");
    try (RandomAccessFile f = new RandomAccessFile(p("d.qcow2"), "rw")) {
      f.seek(block); // the header cluster's refcount
      f.writeShort(0);
    }
    assertThat(run("image", "check", p("d.qcow2"), "--json")).isEqualTo(2);
    assertThat(out.toString()).contains("\"corruptions\" : 1");
  }

  @Test
  void convertAndCompare() throws Exception {
    Path raw = dir.resolve("src.raw");
    byte[] data = new byte[3 << 20];
    new Random(2).nextBytes(data);
    java.util.Arrays.fill(data, 1 << 20, 2 << 20, (byte) 0);
    Files.write(raw, data);
    assertThat(run("image", "convert", raw.toString(), p("out.qcow2"), "-O", "qcow2", "-c")).as(err.toString())
        .isZero();
    assertThat(run("image", "compare", raw.toString(), p("out.qcow2"))).isZero();
    assertThat(out.toString()).contains("Images are identical.");
    data[2 << 20] ^= 1;
    Files.write(raw, data);
    assertThat(run("image", "compare", raw.toString(), p("out.qcow2"))).isEqualTo(1);
    assertThat(out.toString()).contains("Content mismatch at offset " + (2 << 20) + "!");
  }

  @Test
  void errorsAreOneLineOnStderr() {
    assertThat(run("image", "info", p("missing.qcow2"))).isEqualTo(1);
    assertThat(err.toString().strip()).startsWith("vstore: ").doesNotContain("\n").contains("missing.qcow2");
    assertThat(run("image", "create", p("x.img"), "1M", "-f", "qcow2", "-o", "cluster_size=3000"))
        .isEqualTo(1);
    assertThat(err.toString()).contains("cluster_size=3000");
  }
}
