package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random sequences of disk writes, VM snapshot, revert, snapshot delete and reopen on a two-disk
 * VM, against a model of the snapshot tree (parents, current) and of every disk's content at the
 * head and in every snapshot. The datastore check stays clean. One case per seed; see
 * {@link ModelRun} to replay one.
 */
@Tag("slow")
final class VmSnapshotTreeModelTest {
  private static final int SIZE = 256 << 10;
  private static final int DISKS = 2;
  private static final boolean CI = "true".equals(System.getenv("CI"));
  @TempDir Path dir;

  /** The model of one snapshot: its parent and the content of each disk it captured. */
  private record Node(String parent, byte[][] content) {}

  static LongStream seeds() {
    return ModelRun.seeds(12);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void theSnapshotTreeAndEveryDiskBehaveLikeTheModel(long seed) {
    ModelRun.run(seed, this::oneRun);
  }

  private void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    byte[][] head = new byte[DISKS][SIZE];
    Map<String, Node> tree = new LinkedHashMap<>();
    String current = null;
    int made = 0;
    try (Fixture f = new Fixture(dir.resolve("ds"))) {
      f.vms().create("vm", List.of((long) SIZE, (long) SIZE), null);
      int steps = CI ? 15 + r.nextInt(15) : 30 + r.nextInt(40);
      for (int step = 0; step < steps; step++) {
        int op = r.nextInt(10);
        List<String> names = new ArrayList<>(tree.keySet());
        if (op < 4) {
          int disk = r.nextInt(DISKS);
          int n = 1 + r.nextInt(20_000);
          int off = r.nextInt(SIZE - n);
          run.step(step, "write " + n + " at " + off + " to disk " + disk);
          byte[] data = new byte[n];
          r.nextBytes(data);
          System.arraycopy(data, 0, head[disk], off, n);
          f.write("vm-disk" + disk, off, data);
        } else if (op < 6) {
          String name = "s" + made++;
          run.step(step, "snapshot " + name);
          f.vms().snapshot("vm", name, "step " + step);
          tree.put(name, new Node(current, copy(head)));
          current = name;
        } else if (op < 8 && !names.isEmpty()) {
          String name = names.get(r.nextInt(names.size()));
          run.step(step, "revert to " + name);
          f.vms().revert("vm", name);
          head = copy(tree.get(name).content());
          current = name;
        } else if (op < 9 && !names.isEmpty()) {
          String name = names.get(r.nextInt(names.size()));
          run.step(step, "delete snapshot " + name);
          f.vms().deleteSnapshot("vm", name);
          Node gone = tree.remove(name);
          for (Map.Entry<String, Node> e : tree.entrySet()) {
            if (name.equals(e.getValue().parent())) {
              e.setValue(new Node(gone.parent(), e.getValue().content()));
            }
          }
          if (name.equals(current)) {
            current = gone.parent();
          }
        } else {
          run.step(step, "reopen");
          f.reopen();
        }
        VirtualMachine vm = f.vms().get("vm");
        assertThat(vm.current()).as("current").isEqualTo(current);
        Map<String, String> parents = new HashMap<>();
        for (VmSnapshot s : vm.snapshots()) {
          parents.put(s.name(), s.parent());
        }
        Map<String, String> expected = new HashMap<>();
        tree.forEach((k, v) -> expected.put(k, v.parent()));
        assertThat(parents).as("tree").isEqualTo(expected);
        for (int d = 0; d < DISKS; d++) {
          assertThat(Objects.deepEquals(f.read("vm-disk" + d, 0, SIZE), head[d]))
              .as("head of disk " + d).isTrue();
        }
      }
      run.finish("final checks");
      for (Map.Entry<String, Node> e : tree.entrySet()) {
        for (int d = 0; d < DISKS; d++) {
          assertThat(Objects.deepEquals(f.read("vm-disk" + d + "@" + e.getKey(), 0, SIZE), e.getValue().content()[d]))
              .as("snapshot " + e.getKey() + " of disk " + d).isTrue();
        }
      }
    }
  }

  private static byte[][] copy(byte[][] content) {
    byte[][] out = new byte[content.length][];
    for (int i = 0; i < content.length; i++) {
      out[i] = content[i].clone();
    }
    return out;
  }
}
