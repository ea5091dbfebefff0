package io.vstore.vdisk.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 loops: a child JVM writes, zeroes, discards and flushes a qcow2 image (plain or with
 * extended L2 entries) without end and is killed at a random moment (what the page cache holds
 * survives: {@link Qcow2PowerCutTest} cuts the power instead); afterwards qemu-img check must find no corruption (leaks are
 * allowed, as the package documentation promises) and the image must read back.
 */
@Tag("slow")
class Qcow2CrashTest {
  @TempDir Path dir;

  /** The child: writes until killed. */
  public static void main(String[] args) throws Exception {
    Path img = Path.of(args[0]);
    Random r = new Random(Long.parseLong(args[1]));
    try (DiskImage d = ImageFormats.open(img, false)) {
      System.out.println("ready");
      System.out.flush();
      byte[] data = new byte[256 * 1024];
      for (long i = 0; ; i++) {
        int n = 1 + r.nextInt(data.length);
        long off = r.nextLong(d.size() - n);
        switch (r.nextInt(8)) {
          case 0 -> d.discard(off, n);
          case 1 -> d.writeZeroes(off, n, r.nextBoolean());
          case 2 -> d.flush();
          default -> {
            r.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data, 0, n));
          }
        }
      }
    }
  }

  @Test
  void killedWritersLeaveLeaksAtMostNeverCorruption() throws Exception {
    int rounds = "true".equals(System.getenv("CI")) ? 4 : 8;
    String java = ProcessHandle.current().info().command().orElse("java");
    Random r = new Random(42);
    for (int round = 0; round < rounds; round++) {
      Path img = dir.resolve("crash" + round + ".qcow2");
      Map<String, String> cluster = List.of(Map.of("cluster_size", "512"), Map.of("cluster_size", "4096"),
          Map.of("cluster_size", "65536"), Map.of("extended_l2", "on")).get(round % 4);
      ImageFormats.create(img, "qcow2", 64L << 20, new CreateOptions(cluster, null, null)).close();
      Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
          System.getProperty("java.class.path"), Qcow2CrashTest.class.getName(), img.toString(),
          Long.toString(r.nextLong())).redirectErrorStream(true).start();
      try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String first = out.readLine();
        assertThat(first).as("child started").isEqualTo("ready");
        Thread.sleep(200 + r.nextInt(1500));
        p.destroyForcibly(); // SIGKILL: no close, no flush
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      }
      QemuTool.Run q = QemuTool.run("qemu-img", "check", img.toString());
      assertThat(q.exitCode()).as("round %d (cluster %s): %s%s", round, cluster, q.stdout(), q.stderr()).isIn(0, 3);
      CheckResult own = new Qcow2Format().check(img);
      assertThat(own.corruptions()).as("round %d", round).isEmpty();
      try (DiskImage d = ImageFormats.open(img, true)) {
        ByteBuffer all = ByteBuffer.allocate((int) d.size());
        d.read(0, all);
      }
      // and the image can be written again: leaks do not stop vstore
      try (DiskImage d = ImageFormats.open(img, false)) {
        d.write(0, ByteBuffer.wrap(new byte[] {1}));
      }
      assertThat(QemuTool.run("qemu-img", "check", img.toString()).exitCode()).isIn(0, 3);
    }
  }
}
