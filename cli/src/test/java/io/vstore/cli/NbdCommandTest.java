package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore nbd serve} as a separate process: clients write through it, SIGTERM stops it, and
 * what they wrote is in the volume or image afterwards.
 */
final class NbdCommandTest {
  private static final Pattern SERVING = Pattern.compile("serving (\\S+) .* at nbd://127\\.0\\.0\\.1:(\\d+)/");
  @TempDir Path tmp;

  /** A running server process and the port it printed. */
  private record Server(Process process, int port, List<String> lines) implements AutoCloseable {
    /** Stops the server like Ctrl-C / systemd would and returns its exit code. */
    int stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("vstore nbd serve did not stop within 60 s of SIGTERM");
      }
      return process.exitValue();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  private Server serve(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Vstore.class.getName(),
        "nbd", "serve", "--port", "0"));
    cmd.addAll(List.of(args));
    Path err = tmp.resolve("serve-" + System.nanoTime() + ".err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    List<String> lines = new ArrayList<>();
    String line;
    while ((line = out.readLine()) != null) {
      lines.add(line);
      Matcher m = SERVING.matcher(line);
      if (m.find()) {
        return new Server(p, Integer.parseInt(m.group(2)), lines);
      }
    }
    p.waitFor(10, TimeUnit.SECONDS);
    throw new AssertionError("vstore nbd serve exited before serving; stderr: " + Files.readString(err));
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("peer", ".out");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " timed out");
    }
    String text = Files.readString(out);
    Files.delete(out);
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), text).isZero();
    return text;
  }

  @Test
  void servesAVolumeAndFlushesItOnSigterm() throws Exception {
    Path ds = tmp.resolve("ds");
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 0); Volume v = d.createVolume("vm1", 64L << 20)) {
      assertThat(v.size()).isEqualTo(64L << 20);
    }
    try (Server s = serve("-D", ds.toString(), "vm1")) {
      run("qemu-io", "-f", "raw", "-c", "write -P 0x6b 1M 3M", "nbd://127.0.0.1:" + s.port() + "/vm1");
      assertThat(run("nbdinfo", "--map", "nbd://127.0.0.1:" + s.port() + "/vm1")).contains("data");
      assertThat(s.stop()).isIn(0, 143);
    }
    try (Datastore d = Datastore.open(ds, DatastoreOptions.defaults()); Volume v = d.volume("vm1", true)) {
      ByteBuffer b = ByteBuffer.allocate(3 << 20);
      v.read(1 << 20, b);
      assertThat(b.array()).containsOnly((byte) 0x6b);
    }
  }

  @Test
  void servesImageFilesAndScratchDisksReadOnlyWhenAsked() throws Exception {
    Path qcow2 = tmp.resolve("disk.qcow2");
    run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), "32M");
    run("qemu-io", "-f", "qcow2", "-c", "write -P 0x21 0 64k", qcow2.toString());
    try (Server s = serve("--read-only", qcow2.toString(), "scratch=memory:16M")) {
      String base = "nbd://127.0.0.1:" + s.port() + "/";
      run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x21 0 64k", base + "disk.qcow2");
      assertThat(run("nbdinfo", base + "scratch")).contains("is_read_only: true");
      assertThat(s.stop()).isIn(0, 143);
    }
    run("qemu-img", "check", qcow2.toString());
  }

  @Test
  void badExportSpecsFailWithOneLine() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Vstore.run(new String[] {"nbd", "serve", "--port", "0", "-D", tmp.resolve("none").toString(), "vol@snap"},
        new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(exit).isNotZero();
    assertThat(err.toString()).startsWith("vstore: ").hasLineCount(1);
  }

  @Test
  void servesSnapshotsAndDirtyBitmapsFromChangedBlockTracking() throws Exception {
    Path ds = tmp.resolve("ds");
    String since;
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 0); Volume v = d.createVolume("vm1", 64L << 20)) {
      v.write(0, ByteBuffer.wrap(new byte[65536]).put(0, (byte) 1));
      since = d.createSnapshot("vm1", "base").changeId();
      byte[] later = new byte[2 << 20];
      java.util.Arrays.fill(later, (byte) 9);
      v.write(8L << 20, ByteBuffer.wrap(later));
      v.flush();
    }
    try (Server s = serve("-D", ds.toString(), "--dirty-bitmap", since, "vm1", "vm1@base")) {
      String base = "nbd://127.0.0.1:" + s.port() + "/";
      String map = run("nbdinfo", "--map=qemu:dirty-bitmap:" + since, base + "vm1");
      assertThat(map).containsPattern("\\s+8388608\\s+2097152\\s+1\\s+dirty").containsPattern("\\s+0\\s+8388608\\s+0\\s+clean");
      assertThat(run("nbdinfo", base + "vm1@base")).contains("is_read_only: true");
      run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0 8M 2M", base + "vm1@base");
      run("qemu-io", "-r", "-f", "raw", "-c", "read -P 9 8M 2M", base + "vm1");
      assertThat(s.stop()).isIn(0, 143);
    }
  }

  @Test
  void unknownChangeIdsFailAtStartup() throws Exception {
    Path ds = tmp.resolve("ds");
    try (Datastore d = Datastore.create(ds, DatastoreOptions.defaults(), 0); Volume v = d.createVolume("vm1", 1 << 20)) {
      assertThat(v.size()).isPositive();
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Vstore.run(new String[] {"nbd", "serve", "--port", "0", "-D", ds.toString(), "--dirty-bitmap", "nope/1", "vm1"},
        new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(exit).isNotZero();
    assertThat(err.toString()).startsWith("vstore: ").hasLineCount(1);
  }
}
