package io.vstore.vdisk.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Model-based: seeded random internal snapshot creates, applies and deletes interleaved with
 * writes, zeroes, discards and (version 3) resizes, against a model that keeps the active content
 * and every snapshot's content. After every snapshot operation vstore's check must be clean and
 * the active layer must read like the model; at the end every snapshot is applied to a copy and
 * compared, and qemu-img (when installed) checks the image and reads every snapshot in place. A
 * failure names the seed and the step ({@link ModelRun}).
 */
class Qcow2SnapshotModelTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final int BASE_SIZE = 1 << 20;
  private static final String[] OPTIONS = {"compat=1.1,cluster_size=4096", "compat=0.10,cluster_size=512",
      "compat=1.1,cluster_size=512,refcount_bits=4", "compat=1.1,cluster_size=16384,extended_l2=on",
      "compat=1.1,cluster_size=65536"};

  static LongStream seeds() {
    return ModelRun.seeds(CI ? 4 : 10);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void snapshotsInterleavedWithWritesMatchTheModel(long seed) {
    ModelRun.run(seed, Qcow2SnapshotModelTest::oneRun);
  }

  private static Map<String, String> options(String spec) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String kv : spec.split(",")) {
      String[] p = kv.split("=");
      m.put(p[0], p[1]);
    }
    return m;
  }

  private static void oneRun(ModelRun run) throws Exception {
    Random r = run.random();
    String spec = OPTIONS[r.nextInt(OPTIONS.length)];
    boolean v3 = spec.contains("compat=1.1");
    int steps = CI ? 60 : 150;
    run.context(spec);
    Path dir = Files.createTempDirectory("qcow2-snap-model");
    Path img = dir.resolve("m.qcow2");
    try {
      ImageFormats.create(img, "qcow2", BASE_SIZE, new CreateOptions(options(spec), null, null)).close();
      byte[] active = new byte[BASE_SIZE];
      Map<String, byte[]> snaps = new LinkedHashMap<>();
      int made = 0;
      DiskImage open = null;
      try {
        for (int step = 0; step < steps; step++) {
          int pick = r.nextInt(100);
          if (pick < 55) {
            if (open == null) {
              open = ImageFormats.open(img, "qcow2", false);
            }
            active = writeSomething(run, step, r, open, active);
            continue;
          }
          if (open != null) {
            open.close();
            open = null;
          }
          if (pick < 72 && snaps.size() < 8) {
            String name = "s" + made++;
            run.step(step, "create " + name);
            Qcow2Snapshots.create(img, name);
            snaps.put(name, active.clone());
          } else if (pick < 84 && !snaps.isEmpty()) {
            String name = pickOne(r, snaps);
            run.step(step, "apply " + name);
            Qcow2Snapshots.apply(img, name);
            active = snaps.get(name).clone();
          } else if (pick < 94 && !snaps.isEmpty()) {
            String name = pickOne(r, snaps);
            run.step(step, "delete " + name);
            Qcow2Snapshots.delete(img, name);
            snaps.remove(name);
          } else if (v3) {
            int size = (BASE_SIZE / 2 + r.nextInt(BASE_SIZE * 2)) & -512;
            run.step(step, "resize to " + size);
            ImageFormats.byName("qcow2").resize(img, size, true);
            active = Arrays.copyOf(active, size);
          } else {
            continue;
          }
          assertClean(img);
          assertReads(img, active, "active layer");
          assertThat(Qcow2Snapshots.list(img)).extracting(Qcow2Snapshots.Snapshot::name)
              .containsExactlyInAnyOrderElementsOf(snaps.keySet());
        }
      } finally {
        if (open != null) {
          open.close();
        }
      }
      run.finish("final checks");
      assertClean(img);
      assertReads(img, active, "active layer at the end");
      boolean qemu = qemuPresent();
      if (qemu) {
        QemuTool.assertCheckClean(img, "qcow2");
      }
      for (Map.Entry<String, byte[]> s : snaps.entrySet()) {
        Path copy = dir.resolve("copy.qcow2");
        Files.copy(img, copy, StandardCopyOption.REPLACE_EXISTING);
        Qcow2Snapshots.apply(copy, s.getKey());
        assertReads(copy, s.getValue(), "snapshot " + s.getKey() + " applied to a copy");
        if (qemu) {
          Path raw = dir.resolve("snap.raw");
          QemuTool.ok("qemu-img", "convert", "-f", "qcow2", "-l", "snapshot.name=" + s.getKey(), "-O", "raw",
              img.toString(), raw.toString());
          // qemu reads a snapshot in place at the image's current size: past the snapshot's own
          // size it must read zeros.
          byte[] theirs = Files.readAllBytes(raw);
          assertThat(Arrays.mismatch(theirs, Arrays.copyOf(s.getValue(), theirs.length)))
              .as("qemu reading snapshot %s in place (%d bytes, model %d): first difference", s.getKey(),
                  theirs.length, s.getValue().length).isEqualTo(-1);
        }
      }
    } finally {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static byte[] writeSomething(ModelRun run, int step, Random r, DiskImage d, byte[] active)
      throws IOException {
    int size = active.length;
    int offset = r.nextInt(size);
    int length = Math.min(size - offset, 1 + r.nextInt(r.nextBoolean() ? 600 : 40_000));
    int kind = r.nextInt(10);
    if (kind < 7) {
      run.step(step, "write " + offset + " +" + length);
      byte[] data = new byte[length];
      r.nextBytes(data);
      d.write(offset, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, active, offset, length);
    } else {
      boolean unmap = kind == 9;
      run.step(step, (unmap ? "discard " : "zero ") + offset + " +" + length);
      if (unmap) {
        d.discard(offset, length);
      } else {
        d.writeZeroes(offset, length, false);
      }
      Arrays.fill(active, offset, offset + length, (byte) 0);
    }
    if (r.nextInt(8) == 0) {
      d.flush();
    }
    return active;
  }

  private static String pickOne(Random r, Map<String, byte[]> snaps) {
    List<String> names = new ArrayList<>(snaps.keySet());
    return names.get(r.nextInt(names.size()));
  }

  private static void assertClean(Path img) throws IOException {
    CheckResult c = ImageFormats.byName("qcow2").check(img);
    assertThat(c.exitCode()).as("vstore check: %s", c).isZero();
  }

  private static void assertReads(Path img, byte[] expected, String what) throws IOException {
    try (DiskImage d = ImageFormats.open(img, "qcow2", true)) {
      assertThat(d.size()).as("%s: size", what).isEqualTo(expected.length);
      byte[] b = new byte[expected.length];
      d.read(0, ByteBuffer.wrap(b));
      assertThat(Arrays.mismatch(b, expected)).as("%s: first difference", what).isEqualTo(-1);
    }
  }

  private static boolean qemuPresent() {
    try {
      return QemuTool.run("qemu-img", "--version").exitCode() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
