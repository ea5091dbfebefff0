package io.vstore.offline.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.server.Checkouts;
import io.vstore.offline.NoCommands;
import io.vstore.server.CommandRunner;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore checkout --stream} against a real daemon: reads and writes through NBD (qemu-img,
 * qemu-io) before the download finished, compared byte for byte with a model; the download never
 * overwrites the guest's writes; the check-in sends them; a kill -9 of the streaming process resumes.
 */
class StreamCheckoutTest {
  static final char[] PASS = "correct horse".toCharArray();
  private static final long DISK0 = 40L << 20;
  private static final long DISK1 = 6L << 20;

  private static final CommandRunner NO_COMMANDS = NoCommands.RUNNER;

  @TempDir Path tmp;
  private TestDaemon daemon;
  private String token;
  private byte[][] model;

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemon.start(NO_COMMANDS, tmp.resolve("server"));
    Checkouts.install(daemon.daemon(), 8);
    token = daemon.daemon().tokens().create("alice", Scope.WRITE).secret();
    ManagedDatastore ds = daemon.daemon().all().getFirst();
    ds.inventory().vms().create("desk", List.of(DISK0, DISK1), JsonNodeFactory.instance.objectNode());
    model = new byte[][] {new byte[(int) DISK0], new byte[(int) DISK1]};
    Random rnd = new Random(23);
    // every other 512 KiB random, so frames and chunks do not line up; one run of text; disk 1 partly written
    for (int at = 0; at < DISK0; at += 1 << 20) {
      byte[] piece = new byte[512 << 10];
      rnd.nextBytes(piece);
      System.arraycopy(piece, 0, model[0], at + (rnd.nextBoolean() ? 0 : 256 << 10), piece.length);
    }
    Arrays.fill(model[0], 9 << 20, (11 << 20) + 12345, (byte) 't');
    byte[] piece = new byte[700_000];
    rnd.nextBytes(piece);
    System.arraycopy(piece, 0, model[1], 3 << 20, piece.length);
    for (int d = 0; d < 2; d++) {
      try (Volume v = store().volume("desk-disk" + d)) {
        v.write(0, ByteBuffer.wrap(model[d]));
        v.flush();
      }
    }
  }

  @AfterEach
  void stop() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
  }

  private Datastore store() {
    return daemon.daemon().all().getFirst().store();
  }

  private byte[] readServer(String volume) throws IOException {
    try (Volume v = store().volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) v.size());
      v.read(0, b);
      return b.array();
    }
  }

  private static byte[] readCopy(Path dir, String volume) throws IOException {
    try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now());
        Volume v = copy.store().volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) v.size());
      v.read(0, b);
      return b.array();
    }
  }

  private void modelWrite(int disk, long offset, int length, int pattern) {
    Arrays.fill(model[disk], (int) offset, (int) offset + length, (byte) pattern);
  }

  @Test
  void servesReadsAndWritesBeforeTheDownloadAndChecksTheWritesIn() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")) && Files.isExecutable(
        Path.of("/usr/bin/qemu-img")), "qemu-io and qemu-img (qemu-utils) are needed to read and write through NBD");
    Path dir = tmp.resolve("laptop");
    CountDownLatch release = new CountDownLatch(1);
    long started = System.nanoTime();
    try (StreamingCheckout s = StreamingCheckout.start("desk", daemon.baseUrl(), token, null, dir, PASS,
        new InetSocketAddress("127.0.0.1", 0), (done, total, bytes) -> {
          try {
            release.await(); // the background stops after its first fetches until the test lets it go on
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        })) {
      int port = s.address().getPort();
      long up = System.nanoTime();
      // the first read through the export, timed (the floor is 2 s after the command; not asserted here)
      qemuIo(port, "desk-disk0", "read 0 65536");
      System.out.printf("exports up %.0f ms after the start, first NBD read done (qemu-io process included)"
          + " %.0f ms after the start%n", (up - started) / 1e6, (System.nanoTime() - started) / 1e6);
      // a write into chunks that have not arrived: partial (lands on the server's bytes) and straddling two chunks
      qemuIo(port, "desk-disk0", "write -P 0x5a " + ((30L << 20) + 8192) + " 4096");
      qemuIo(port, "desk-disk0", "write -P 0x3c " + ((33L << 20) + (512 << 10)) + " " + (1 << 20));
      modelWrite(0, (30L << 20) + 8192, 4096, 0x5a);
      modelWrite(0, (33L << 20) + (512 << 10), 1 << 20, 0x3c);
      assertThat(s.isDownloaded()).isFalse();
      // the whole disks, read through NBD while the background is held: fetched on demand
      assertThat(nbdRead(port, "desk-disk0")).isEqualTo(model[0]);
      assertThat(nbdRead(port, "desk-disk1")).isEqualTo(model[1]);
      assertThatThrownBy(() -> OfflineCopy.checkin(dir, PASS, token, false, false))
          .hasMessageContaining("has not finished");
      release.countDown();
      assertThat(s.awaitDownload(TimeUnit.MINUTES.toMillis(5))).isTrue();
      assertThat(dir.resolve(StreamLog.PRESENT)).doesNotExist();
      assertThat(Manifest.read(dir).state()).isEqualTo(Manifest.State.READY);
      // after the download: the writes are still there, and a write now is tracked by the copy's CBT
      assertThat(nbdRead(port, "desk-disk0")).isEqualTo(model[0]);
      qemuIo(port, "desk-disk1", "write -P 0x21 " + (2 << 20) + " 4096");
      modelWrite(1, 2 << 20, 4096, 0x21);
      // check-in through the running process: the writes made while streaming go too
      OfflineCopy.CheckinReport in = OfflineCopy.checkin(dir, PASS, token, true, false);
      long changed = 65536 + (1 << 20) + 4096; // streamed writes are listed in 64 KiB blocks
      assertThat(in.changedBytes()).isEqualTo(changed);
      assertThat(in.bytesSent()).isLessThanOrEqualTo((long) (1.05 * changed) + (1 << 20));
      assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
      assertThat(readServer("desk-disk1")).isEqualTo(model[1]);
      assertThat(dir.resolve(StreamLog.DIRTY)).doesNotExist();
      // the next check-in sends only what changed since
      qemuIo(port, "desk-disk0", "write -P 0x44 0 4096");
      modelWrite(0, 0, 4096, 0x44);
      OfflineCopy.CheckinReport second = OfflineCopy.checkin(dir, PASS, token, false, false);
      assertThat(second.changedBytes()).isEqualTo(4096);
      assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
    }
  }

  @Test
  void aKilledStreamingCheckOutResumesAndKeepsTheGuestsFlushedWrites() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")),
        "qemu-io (qemu-utils) is needed to write through NBD");
    Path dir = tmp.resolve("laptop");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
        StreamChild.class.getName(), daemon.baseUrl(), token, dir.toString())
        .redirectError(tmp.resolve("child.err").toFile()).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertThat(line).as("child: %s", Files.exists(tmp.resolve("child.err"))
          ? Files.readString(tmp.resolve("child.err")) : "").startsWith("PORT ");
      int port = Integer.parseInt(line.substring(5).trim());
      qemuIo(port, "desk-disk0", "write -P 0x77 " + ((38L << 20) + 4096) + " 8192", "flush");
      modelWrite(0, (38L << 20) + 4096, 8192, 0x77);
      Path log = dir.resolve(StreamLog.PRESENT);
      for (int i = 0; i < 600 && (!Files.exists(log) || Files.size(log) < 24); i++) {
        Thread.sleep(50);
      }
      assertThat(Manifest.read(dir).state()).isEqualTo(Manifest.State.DOWNLOADING);
    } finally {
      child.destroyForcibly(); // SIGKILL
      child.waitFor(30, TimeUnit.SECONDS);
    }
    assertThat(dir.resolve(StreamLog.DIRTY)).exists();
    // the same command again: resumes, serves, finishes
    try (StreamingCheckout s = StreamingCheckout.start("desk", daemon.baseUrl(), token, null, dir, PASS,
        new InetSocketAddress("127.0.0.1", 0), OfflineCopy.Progress.NONE)) {
      assertThat(s.awaitDownload(TimeUnit.MINUTES.toMillis(5))).isTrue();
    }
    assertThat(readCopy(dir, "desk-disk0")).isEqualTo(model[0]);
    assertThat(readCopy(dir, "desk-disk1")).isEqualTo(model[1]);
    OfflineCopy.CheckinReport in = OfflineCopy.checkin(dir, PASS, token, false, false);
    assertThat(in.changedBytes()).isEqualTo(65536);
    assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
    assertThat(readServer("desk-disk1")).isEqualTo(model[1]);
  }

  private byte[] nbdRead(int port, String export) throws Exception {
    Path out = tmp.resolve(export + ".raw");
    Files.deleteIfExists(out);
    run("qemu-img", "convert", "-f", "raw", "-O", "raw", "nbd://127.0.0.1:" + port + "/" + export, out.toString());
    return Files.readAllBytes(out);
  }

  private static void qemuIo(int port, String export, String... commands) throws Exception {
    List<String> argv = new java.util.ArrayList<>(List.of("qemu-io", "-f", "raw"));
    for (String c : commands) {
      argv.add("-c");
      argv.add(c);
    }
    argv.add("nbd://127.0.0.1:" + port + "/" + export);
    run(argv.toArray(String[]::new));
  }

  private static void run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", argv) + ": " + output).isZero();
  }
}
