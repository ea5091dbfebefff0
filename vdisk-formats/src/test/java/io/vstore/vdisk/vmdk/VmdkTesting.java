package io.vstore.vdisk.vmdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Shared helpers for the VMDK tests: corpus location, a chain opener, hashing and qemu peers. */
final class VmdkTesting {
  static final VmdkFormat FORMAT = new VmdkFormat();

  private VmdkTesting() {}

  /** Returns the corpus directory, failing clearly when it is missing. */
  static Path corpus() {
    String p = System.getProperty("vstore.corpus");
    assertThat(p).as("system property vstore.corpus (set by the parent POM) names the shared corpus").isNotNull();
    Path dir = Path.of(p);
    assertThat(dir.resolve("disks")).as("corpus directory %s/disks is missing", dir).isDirectory();
    return dir;
  }

  /** A chain opener for VMDK parents, read-only, guarding depth. */
  static ImageChainOpener chain() {
    return chain(0);
  }

  private static ImageChainOpener chain(int depth) {
    return (path, format) -> {
      if (depth > 16) {
        throw new IOException("chain deeper than 16 at " + path);
      }
      return FORMAT.open(path, true, chain(depth + 1));
    };
  }

  /** Opens a VMDK read-only with its chain. */
  static DiskImage open(Path p) throws IOException {
    return FORMAT.open(p, true, chain());
  }

  /** Returns the sha256 of a device's whole content, read in 1 MiB chunks. */
  static String sha256(BlockDevice d) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    for (long pos = 0; pos < d.size(); pos += buf.capacity()) {
      buf.clear().limit((int) Math.min(buf.capacity(), d.size() - pos));
      d.read(pos, buf);
      md.update(buf.flip());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Reads the whole device into an array (small test images only). */
  static byte[] readAll(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.size()));
    d.read(0, b);
    return b.array();
  }

  /** Asserts equal arrays, naming the first differing byte instead of printing both arrays. */
  static void assertSameBytes(byte[] actual, byte[] expected, String what) {
    assertThat(actual.length).as(what + ": length").isEqualTo(expected.length);
    int at = java.util.Arrays.mismatch(actual, expected);
    assertThat(at).as("%s: first difference at byte %d (actual %s, expected %s)", what, at,
        at >= 0 ? actual[at] : "-", at >= 0 ? expected[at] : "-").isEqualTo(-1);
  }

  /** Result of a peer command. */
  record Result(int exit, String stdout, String stderr) {}

  /** Runs a peer tool with a timeout; fails with its stderr when {@code mustSucceed} and it fails. */
  static Result run(boolean mustSucceed, String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("peer", ".out");
    Path err = Files.createTempFile("peer", ".err");
    try {
      Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(300, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + String.join(" ", command));
      }
      Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
      if (mustSucceed && r.exit != 0) {
        throw new AssertionError(String.join(" ", command) + " exited " + r.exit + ": " + r.stderr + r.stdout);
      }
      return r;
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /** Runs a peer tool that must succeed. */
  static Result run(String... command) throws IOException, InterruptedException {
    return run(true, command);
  }

  /** Returns qemu-img's raw reading of an image. */
  static byte[] qemuRaw(Path image, Path tmp) throws IOException, InterruptedException {
    Path raw = tmp.resolve(image.getFileName() + ".qemu.raw");
    Files.deleteIfExists(raw);
    run("qemu-img", "convert", "-f", "vmdk", "-O", "raw", image.toString(), raw.toString());
    byte[] b = Files.readAllBytes(raw);
    Files.delete(raw);
    return b;
  }

  /** Lists the arguments of a qemu-io command list, each as {@code -c CMD}. */
  static List<String> qemuIo(String image, String... commands) {
    List<String> args = new ArrayList<>(List.of("qemu-io", "-f", "vmdk"));
    for (String c : commands) {
      args.add("-c");
      args.add(c);
    }
    args.add(image);
    return args;
  }
}
