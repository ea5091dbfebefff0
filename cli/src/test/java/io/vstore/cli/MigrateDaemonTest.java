package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.TestDaemon;
import io.vstore.server.exports.ExportInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vstore migrate} in a daemon owning two datastores while an NBD client writes through the
 * volume's export: fio's nbd engine with crc32c verification, then a second verifying read of every
 * block through the same export (served by the destination by then); the export follows the volume
 * to the destination datastore, also after a restart.
 */
final class MigrateDaemonTest {
  private static final long SIZE = "true".equals(System.getenv("CI")) ? 32L << 20 : 96L << 20;
  @TempDir Path tmp;

  @Test
  void refusesOutsideADaemonInOneLine() throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 0)) {
      d.createVolume("v", 1 << 20).close();
    }
    Datastore.create(b, DatastoreOptions.defaults(), 0).close();
    CliRun r = CliRun.of("migrate", "-D", a.toString(), "v", "--to", b.toString());
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).startsWith("vstore: vstore migrate runs in the daemon").hasLineCount(1);
  }

  @Test
  void fioWritesAndVerifiesThroughTheExportWhileTheVolumeMoves() throws Exception {
    Assumptions.assumeTrue(hasFioNbd(), "fio with the nbd engine is not installed");
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    try (Datastore d = Datastore.create(a, DatastoreOptions.defaults(), 64L << 30);
        Volume v = d.createVolume("v", SIZE)) {
      Random random = new Random(7);
      byte[] chunk = new byte[1 << 20];
      for (long at = 0; at < SIZE; at += 4L << 20) { // every fourth MiB holds data before the move
        random.nextBytes(chunk);
        v.write(at, ByteBuffer.wrap(chunk));
      }
    }
    Datastore.create(b, DatastoreOptions.defaults(), 64L << 30).close();
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      int port = daemon.daemon().exports().nbdAddress().getPort();
      CliRun add = CliRun.of("export", "add", "-D", a.toString(), "v");
      assertThat(add.exit()).as(add.err()).isZero();
      String uri = "nbd://127.0.0.1:" + port + "/v";
      Fio fio = fio(uri, false);
      while (daemon.daemon().exports().get("v").clients().isEmpty() && fio.process().isAlive()) {
        Thread.sleep(10); // the move should start while fio writes; it is correct either way
      }
      CliRun move = CliRun.of("migrate", "-D", a.toString(), "v", "--to", b.toString(), "--rate-limit", "16M",
          "--json");
      assertThat(move.exit()).as(move.err()).isZero();
      JsonNode result = new ObjectMapper().readTree(move.out());
      // The bound (1.05 x the unique bytes): fio writes the whole volume during the move, and a
      // region a client changed while it was being copied is copied again (seen: 1.011 x on a loaded VM).
      assertThat(result.get("copiedBytes").asLong()).isLessThanOrEqualTo(SIZE + SIZE / 20);
      String written = finish(fio);
      assertThat(written).doesNotContain("verify: bad").contains("err= 0");
      String verified = finish(fio(uri, true));
      assertThat(verified).doesNotContain("verify: bad");

      ExportInfo export = daemon.daemon().exports().get("v");
      assertThat(export.datastore()).isEqualTo(daemon.daemon().find(b).orElseThrow().name());
      assertThat(daemon.daemon().find(a).orElseThrow().store().hasVolume("v")).isFalse();
      assertThat(Files.readString(b.resolve("exports.json"))).contains("\"v\"");
      assertThat(Files.readString(a.resolve("exports.json"))).doesNotContain("\"v\"");
      assertThat(daemon.daemon().find(b).orElseThrow().store().check().problems()).isEmpty();
    }
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), a, b)) {
      int port = daemon.daemon().exports().nbdAddress().getPort();
      assertThat(finish(fio("nbd://127.0.0.1:" + port + "/v", true))).doesNotContain("verify: bad");
    }
  }

  /** A running fio and the file its output goes to. */
  private record Fio(Process process, Path log) {}

  /** Starts fio writing checksummed random blocks at QD8 (or, with {@code verifyOnly}, reading them back). */
  private Fio fio(String uri, boolean verifyOnly) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("fio", "--name=migrate", "--ioengine=nbd", "--uri=" + uri,
        "--rw=randwrite", "--bsrange=4k-64k", "--iodepth=8", "--size=" + SIZE, "--verify=crc32c", "--verify_fatal=1",
        "--do_verify=1", "--randrepeat=1", "--randseed=42", "--verify_state_save=0"));
    if (verifyOnly) {
      cmd.add("--verify_only");
    }
    Path log = Files.createTempFile(tmp, "fio", ".log");
    return new Fio(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start(), log);
  }

  private static String finish(Fio fio) throws Exception {
    assertThat(fio.process().waitFor(300, TimeUnit.SECONDS)).as("fio finished").isTrue();
    String out = Files.readString(fio.log());
    assertThat(fio.process().exitValue()).as("fio exit: %s", out).isZero();
    return out;
  }

  private static boolean hasFioNbd() {
    try {
      Process p = new ProcessBuilder("fio", "--enghelp").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.waitFor(30, TimeUnit.SECONDS) && out.contains("nbd");
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
