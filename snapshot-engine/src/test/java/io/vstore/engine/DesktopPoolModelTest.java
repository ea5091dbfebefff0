package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random sequences of desktop writes (system, persistent and disposable disks), base VM writes
 * and snapshots, refresh of one or every desktop, recompose onto a random base snapshot and
 * reopen, against a model of every desktop disk and every base snapshot. Persistent disks must
 * survive everything; system disks follow the pool's base; disposable disks empty at refresh.
 * One case per seed; see {@link ModelRun} to replay one.
 */
@Tag("slow")
final class DesktopPoolModelTest {
  private static final int SIZE = 128 << 10;
  private static final int DESKTOPS = 3;
  private static final boolean CI = "true".equals(System.getenv("CI"));
  @TempDir Path dir;

  static LongStream seeds() {
    return ModelRun.seeds(8);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void desktopsBehaveLikeTheModel(long seed) {
    ModelRun.run(seed, this::oneRun);
  }

  private void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    byte[] baseHead = new byte[SIZE];
    Map<String, byte[]> baseSnapshots = new HashMap<>();
    Map<String, byte[]> disks = new HashMap<>();
    String poolBase;
    try (Fixture f = new Fixture(dir.resolve("ds"))) {
      f.vms().create("gold", List.of((long) SIZE), null);
      write(f, r, "gold-disk0", baseHead);
      f.vms().snapshot("gold", "s0", "");
      baseSnapshots.put("s0", baseHead.clone());
      f.pools().create("p", "gold", "s0", DESKTOPS, SIZE, SIZE);
      poolBase = "s0";
      for (int n = 1; n <= DESKTOPS; n++) {
        disks.put("p-" + n + "-disk0", baseHead.clone());
        disks.put("p-" + n + "-persistent", new byte[SIZE]);
        disks.put("p-" + n + "-disposable", new byte[SIZE]);
      }
      int steps = CI ? 10 + r.nextInt(10) : 20 + r.nextInt(25);
      for (int step = 0; step < steps; step++) {
        int op = r.nextInt(12);
        List<String> names = new ArrayList<>(disks.keySet());
        names.sort(null);
        if (op < 5) {
          String disk = names.get(r.nextInt(names.size()));
          run.step(step, "write to " + disk);
          write(f, r, disk, disks.get(disk));
        } else if (op < 6) {
          run.step(step, "write to gold-disk0");
          write(f, r, "gold-disk0", baseHead);
        } else if (op < 7) {
          String s = "s" + baseSnapshots.size();
          run.step(step, "snapshot gold@" + s);
          f.vms().snapshot("gold", s, "");
          baseSnapshots.put(s, baseHead.clone());
        } else if (op < 9) {
          String desktop = r.nextBoolean() ? null : "p-" + (1 + r.nextInt(DESKTOPS));
          run.step(step, "refresh " + (desktop == null ? "every desktop" : desktop));
          f.pools().refresh("p", desktop);
          for (int n = 1; n <= DESKTOPS; n++) {
            if (desktop == null || desktop.equals("p-" + n)) {
              disks.put("p-" + n + "-disk0", baseSnapshots.get(poolBase).clone());
              disks.put("p-" + n + "-disposable", new byte[SIZE]);
            }
          }
        } else if (op < 11) {
          List<String> snaps = new ArrayList<>(baseSnapshots.keySet());
          snaps.sort(null);
          poolBase = snaps.get(r.nextInt(snaps.size()));
          run.step(step, "recompose onto gold@" + poolBase);
          f.pools().recompose("p", "gold", poolBase);
          for (int n = 1; n <= DESKTOPS; n++) {
            disks.put("p-" + n + "-disk0", baseSnapshots.get(poolBase).clone());
          }
        } else {
          run.step(step, "reopen");
          f.reopen();
        }
        assertThat(f.pools().get("p").base()).as("pool base").isEqualTo("gold@" + poolBase);
        for (Map.Entry<String, byte[]> e : disks.entrySet()) {
          assertThat(Arrays.equals(f.read(e.getKey(), 0, SIZE), e.getValue())).as(e.getKey()).isTrue();
        }
        assertThat(Arrays.equals(f.read("gold-disk0", 0, SIZE), baseHead)).as("base head").isTrue();
      }
    }
  }

  private static void write(Fixture f, Random r, String volume, byte[] model) throws IOException {
    int n = 1 + r.nextInt(16_384);
    int off = r.nextInt(SIZE - n);
    byte[] data = new byte[n];
    r.nextBytes(data);
    System.arraycopy(data, 0, model, off, n);
    f.write(volume, off, data);
  }
}
