package io.vstore.backup.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.repo.PointReader;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.ModelRun;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random sequences of writes, discards, snapshot reverts, volume and VM backups, restores to
 * volumes and files, point devices and diffs, against a model: the bytes every point must hold.
 * Every restore is compared byte for byte; a failure names the seed and step.
 */
class BackupModelTest {
  private static final int CHUNK = 16 << 10;
  private static final String[] VOLUMES = {"v0", "v1"};
  private static final long[] SIZES = {(1 << 20) + (8 << 10), 768 << 10};

  @TempDir Path tmp;

  @Test
  void randomOperationsAgainstTheModel() {
    int steps = BackupFixture.CI ? 60 : 200;
    ModelRun.seeds(BackupFixture.CI ? 2 : 4).forEach(seed -> ModelRun.run(seed, run -> runOne(run, steps)));
  }

  /** What the model knows about one point. */
  private record ModelPoint(String volume, byte[] bytes) {}

  private void runOne(ModelRun run, int steps) throws Exception {
    Random rnd = run.random();
    Path dir = tmp.resolve("seed-" + run.seed());
    byte[][] text = new byte[4][4096];
    for (byte[] t : text) {
      Arrays.fill(t, (byte) ('a' + rnd.nextInt(26)));
    }
    try (BackupFixture f = new BackupFixture(dir, CHUNK)) {
      Map<String, byte[]> model = new HashMap<>();
      Map<String, Map<String, byte[]>> snapshots = new HashMap<>();
      for (int i = 0; i < VOLUMES.length; i++) {
        f.ds.createVolume(VOLUMES[i], SIZES[i]).close();
        model.put(VOLUMES[i], new byte[(int) SIZES[i]]);
        snapshots.put(VOLUMES[i], new LinkedHashMap<>());
      }
      Map<String, ModelPoint> points = new LinkedHashMap<>();
      java.util.Set<String> reverted = new java.util.HashSet<>();
      int restores = 0;
      for (int step = 0; step < steps; step++) {
        int op = rnd.nextInt(100);
        String v = VOLUMES[rnd.nextInt(VOLUMES.length)];
        byte[] m = model.get(v);
        if (op < 40) {
          run.step(step, "write " + v);
          int off = rnd.nextBoolean() ? rnd.nextInt(m.length / 4096) * 4096 : rnd.nextInt(m.length);
          int len = Math.min(m.length - off, 1 + rnd.nextInt(96 << 10));
          byte[] data = new byte[len];
          switch (rnd.nextInt(3)) {
            case 0 -> rnd.nextBytes(data);
            case 1 -> { } // zeros
            default -> {
              byte[] t = text[rnd.nextInt(text.length)];
              for (int i = 0; i < len; i++) {
                data[i] = t[i % t.length];
              }
            }
          }
          try (Volume vol = f.ds.volume(v)) {
            vol.write(off, ByteBuffer.wrap(data));
          }
          System.arraycopy(data, 0, m, off, len);
        } else if (op < 46) {
          run.step(step, "discard " + v);
          int off = rnd.nextInt(m.length / 4096) * 4096;
          int len = Math.min(m.length - off, (1 + rnd.nextInt(32)) * 4096);
          try (Volume vol = f.ds.volume(v)) {
            vol.discard(off, len);
          }
          Arrays.fill(m, off, off + len, (byte) 0);
        } else if (op < 49) {
          run.step(step, "snapshot " + v);
          String name = "s" + step;
          f.ds.createSnapshot(v, name);
          snapshots.get(v).put(name, m.clone());
        } else if (op < 51 && !snapshots.get(v).isEmpty()) {
          List<String> names = new ArrayList<>(snapshots.get(v).keySet());
          String name = names.get(rnd.nextInt(names.size()));
          run.step(step, "revert " + v + "@" + name);
          f.ds.revert(v, name);
          model.put(v, snapshots.get(v).get(name).clone());
          reverted.add(v);
        } else if (op < 64) {
          run.step(step, "backup " + v);
          BackupResult r = new BackupRun(f.ds, f.repo, BackupListener.NONE).workers(1 + rnd.nextInt(3)).volume(v);
          checkMode(r, points, reverted);
          points.put(r.point().id(), new ModelPoint(v, m.clone()));
        } else if (op < 67) {
          run.step(step, "backup vm");
          List<BackupResult> rs = new BackupRun(f.ds, f.repo, BackupListener.NONE).vm("vm", List.of(VOLUMES));
          assertThat(rs).hasSize(VOLUMES.length);
          for (BackupResult r : rs) {
            assertThat(r.point().group()).isEqualTo("vm");
            checkMode(r, points, reverted);
            points.put(r.point().id(), new ModelPoint(r.volume(), model.get(r.volume()).clone()));
          }
        } else if (op < 75 && !points.isEmpty()) {
          String id = pick(points, rnd);
          run.step(step, "restore " + id + " to a volume");
          String target = "r" + restores++;
          try (PointReader p = f.repo.openPoint(id)) {
            try (Volume out = f.ds.createVolume(target, p.size())) {
              new PointRestore(f.repo, p, BackupListener.NONE).workers(1 + rnd.nextInt(4)).into(out);
              assertSame(points.get(id).bytes(), BackupFixture.readAll(out), "restore of " + id);
            }
          }
          f.ds.deleteVolume(target);
        } else if (op < 78 && !points.isEmpty()) {
          String id = pick(points, rnd);
          String format = rnd.nextBoolean() ? "raw" : "qcow2";
          run.step(step, "restore " + id + " to a " + format + " file");
          Path file = dir.resolve("restore-" + restores++ + "." + format);
          try (PointReader p = f.repo.openPoint(id);
              DiskImage img = ImageFormats.create(file, format, p.size(), CreateOptions.none())) {
            new PointRestore(f.repo, p, BackupListener.NONE).into(img);
            assertSame(points.get(id).bytes(), BackupFixture.readAll(img), "restore of " + id + " to " + format);
          }
        } else if (op < 88 && !points.isEmpty()) {
          String id = pick(points, rnd);
          run.step(step, "point device " + id);
          byte[] want = points.get(id).bytes();
          try (PointDevice d = PointDevice.open(f.repo, id)) {
            for (int i = 0; i < 8; i++) {
              int off = rnd.nextInt(want.length);
              int len = 1 + rnd.nextInt(Math.min(want.length - off, 3 * CHUNK));
              ByteBuffer got = ByteBuffer.allocate(len);
              d.read(off, got);
              assertThat(got.array()).as("point %s at %d+%d", id, off, len)
                  .isEqualTo(Arrays.copyOfRange(want, off, off + len));
            }
            for (Extent e : d.allocation(0, d.size())) {
              if (e.kind() != Extent.Kind.DATA) {
                assertThat(allZero(want, (int) e.offset(), (int) e.end())).as("hole %s of %s", e, id).isTrue();
              }
            }
          }
        } else if (op < 93 && points.size() >= 2) {
          String a = pick(points, rnd);
          String b = pick(points, rnd);
          run.step(step, "diff " + a + " " + b);
          checkDiff(f, points.get(a).bytes(), points.get(b).bytes(), a, b);
        } else if (op < 96) {
          run.step(step, "reopen repository");
          f.reopenRepository();
        }
      }
      run.step(steps, "restore every point");
      for (var e : points.entrySet()) {
        try (PointDevice d = PointDevice.open(f.repo, e.getKey())) {
          assertSame(e.getValue().bytes(), BackupFixture.readAll(d), "point " + e.getKey());
        }
      }
      assertThat(f.repo.check().problems()).isEmpty();
    }
  }

  /** The first point of a volume is full; later ones incremental unless the volume was reverted since. */
  private static void checkMode(BackupResult r, Map<String, ModelPoint> points, java.util.Set<String> reverted) {
    boolean first = points.values().stream().noneMatch(p -> p.volume().equals(r.volume()));
    if (first) {
      assertThat(r.mode()).isEqualTo("full");
    } else if (!reverted.contains(r.volume())) {
      assertThat(r.mode()).isEqualTo("incremental");
    } else {
      assertThat(r.mode()).isIn("incremental", "full-change-id-lost");
    }
    reverted.remove(r.volume());
  }

  private void checkDiff(BackupFixture f, byte[] a, byte[] b, String ida, String idb) throws Exception {
    boolean[] differs = new boolean[(Math.max(a.length, b.length) + CHUNK - 1) / CHUNK];
    try (PointReader ra = f.repo.openPoint(ida); PointReader rb = f.repo.openPoint(idb)) {
      PointDiff.run(ra, rb, f.repo.config().pageChunks(), (off, len) -> {
        assertThat(off % CHUNK).isZero();
        for (long c = off / CHUNK; c * CHUNK < off + len; c++) {
          differs[(int) c] = true;
        }
      });
    }
    for (int c = 0; c < differs.length; c++) {
      int from = c * CHUNK;
      byte[] ca = slice(a, from);
      byte[] cb = slice(b, from);
      boolean modelDiffers = !(allZero(ca, 0, ca.length) && allZero(cb, 0, cb.length)) && !Arrays.equals(ca, cb);
      assertThat(differs[c]).as("chunk %d differs between %s and %s", c, ida, idb).isEqualTo(modelDiffers);
    }
  }

  private static byte[] slice(byte[] bytes, int from) {
    return from >= bytes.length ? new byte[0] : Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + CHUNK));
  }

  private static boolean allZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static String pick(Map<String, ModelPoint> points, Random rnd) {
    List<String> ids = new ArrayList<>(points.keySet());
    return ids.get(rnd.nextInt(ids.size()));
  }

  private static void assertSame(byte[] want, byte[] got, String what) {
    long at = BackupFixture.firstDifference(want, got);
    assertThat(at).as("%s: first difference at byte %d", what, at).isEqualTo(-1L);
  }
}
