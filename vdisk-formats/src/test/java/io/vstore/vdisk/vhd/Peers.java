package io.vstore.vdisk.vhd;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;

/** Runs the real peers (qemu-img, qemu-io) and reads the shared corpus, for the format tests. */
public final class Peers {
  private static final long TIMEOUT_SECONDS = 300;

  private Peers() {}

  /** The result of a peer's run. */
  public record Result(int exitCode, String stdout, String stderr) {}

  /** Runs {@code command}, returning its exit code and output; never hangs past the timeout. */
  public static Result run(String... command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    Process p = pb.start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Thread o = Thread.ofVirtual().start(() -> copy(p.getInputStream(), out));
    Thread e = Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err));
    if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " timed out after " + TIMEOUT_SECONDS + " s");
    }
    o.join();
    e.join();
    return new Result(p.exitValue(), out.toString(), err.toString());
  }

  /** Runs {@code command} and fails with its stderr unless it exits 0; returns stdout. */
  public static String ok(String... command) throws IOException, InterruptedException {
    Result r = run(command);
    if (r.exitCode() != 0) {
      throw new AssertionError(String.join(" ", command) + " exited " + r.exitCode() + ": " + r.stderr() + r.stdout());
    }
    return r.stdout();
  }

  private static void copy(InputStream in, ByteArrayOutputStream out) {
    try (in) {
      in.transferTo(out);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }

  /** Returns the corpus directory, failing clearly when the property or directory is missing. */
  public static Path corpus() {
    String prop = System.getProperty("vstore.corpus");
    if (prop == null) {
      throw new AssertionError("system property vstore.corpus is not set (the parent POM sets it)");
    }
    Path dir = Path.of(prop);
    if (!Files.isDirectory(dir)) {
      throw new AssertionError("corpus directory " + dir + " (vstore.corpus) is missing");
    }
    return dir;
  }

  /** Returns a corpus file, failing clearly when it is missing. */
  public static Path corpusFile(String relative) {
    Path p = corpus().resolve(relative);
    if (!Files.isRegularFile(p)) {
      throw new AssertionError("corpus file " + p + " is missing");
    }
    return p;
  }

  /** Decompresses a bzip2 file to {@code target}. */
  public static Path bunzip2(Path source, Path target) throws IOException {
    try (InputStream in = new BZip2CompressorInputStream(Files.newInputStream(source))) {
      Files.copy(in, target);
    }
    return target;
  }

  /** Returns the hex sha256 of every byte of {@code device}, read in 1 MiB pieces. */
  public static String sha256(io.vstore.blockstore.BlockDevice device) throws IOException {
    MessageDigest md = sha256();
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(1 << 20);
    for (long pos = 0; pos < device.size(); ) {
      buf.clear().limit((int) Math.min(buf.capacity(), device.size() - pos));
      device.read(pos, buf);
      pos += buf.position();
      buf.flip();
      md.update(buf);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Returns the hex sha256 of a file. */
  public static String sha256(Path file) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] b = new byte[1 << 20];
      for (int n; (n = in.read(b)) > 0; ) {
        md.update(b, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** Returns qemu-io's {@code -c} arguments for writing each pattern: offset, length, byte. */
  public static List<String> qemuIoWrites(long[][] patterns) {
    List<String> args = new ArrayList<>();
    for (long[] p : patterns) {
      args.add("-c");
      args.add("write -P 0x" + Long.toHexString(p[2]) + " " + p[0] + " " + p[1]);
    }
    return args;
  }
}
