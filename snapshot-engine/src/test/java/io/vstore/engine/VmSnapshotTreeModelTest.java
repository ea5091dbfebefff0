package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Random sequences of disk writes, VM snapshot, revert, snapshot delete and reopen on a two-disk
 * VM, against a model of the snapshot tree (parents, current) and of every disk's content at the
 * head and in every snapshot. The datastore check stays clean.
 */
@Tag("slow")
final class VmSnapshotTreeModelTest {
  private static final int SIZE = 256 << 10;
  private static final int DISKS = 2;
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private Path dir;
  private int tryCount;

  /** The model of one snapshot: its parent and the content of each disk it captured. */
  private record Node(String parent, byte[][] content) {}

  @BeforeProperty
  void makeDir() throws IOException {
    dir = Files.createTempDirectory("vstore-engine-model");
  }

  @AfterProperty
  void removeDir() throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  // Shrinking a seed means nothing; the seed and step in the failure message reproduce the run.
  @Property(tries = 12, shrinking = ShrinkingMode.OFF)
  void theSnapshotTreeAndEveryDiskBehaveLikeTheModel(@ForAll long seed) throws IOException {
    Random r = new Random(seed);
    byte[][] head = new byte[DISKS][SIZE];
    Map<String, Node> tree = new LinkedHashMap<>();
    String current = null;
    int made = 0;
    try (Fixture f = new Fixture(dir.resolve("ds" + tryCount++))) {
      f.vms().create("vm", List.of((long) SIZE, (long) SIZE), null);
      int steps = CI ? 15 + r.nextInt(15) : 30 + r.nextInt(40);
      for (int step = 0; step < steps; step++) {
        String where = "seed " + seed + " step " + step;
        int op = r.nextInt(10);
        List<String> names = new ArrayList<>(tree.keySet());
        if (op < 4) {
          int disk = r.nextInt(DISKS);
          int n = 1 + r.nextInt(20_000);
          int off = r.nextInt(SIZE - n);
          byte[] data = new byte[n];
          r.nextBytes(data);
          System.arraycopy(data, 0, head[disk], off, n);
          f.write("vm-disk" + disk, off, data);
        } else if (op < 6) {
          String name = "s" + made++;
          f.vms().snapshot("vm", name, where);
          tree.put(name, new Node(current, copy(head)));
          current = name;
        } else if (op < 8 && !names.isEmpty()) {
          String name = names.get(r.nextInt(names.size()));
          f.vms().revert("vm", name);
          head = copy(tree.get(name).content());
          current = name;
        } else if (op < 9 && !names.isEmpty()) {
          String name = names.get(r.nextInt(names.size()));
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
          f.reopen();
        }
        VirtualMachine vm = f.vms().get("vm");
        assertThat(vm.current()).as(where + ": current").isEqualTo(current);
        Map<String, String> parents = new HashMap<>();
        for (VmSnapshot s : vm.snapshots()) {
          parents.put(s.name(), s.parent());
        }
        Map<String, String> expected = new HashMap<>();
        tree.forEach((k, v) -> expected.put(k, v.parent()));
        assertThat(parents).as(where + ": tree").isEqualTo(expected);
        for (int d = 0; d < DISKS; d++) {
          assertThat(Objects.deepEquals(f.read("vm-disk" + d, 0, SIZE), head[d]))
              .as(where + ": head of disk " + d).isTrue();
        }
      }
      for (Map.Entry<String, Node> e : tree.entrySet()) {
        for (int d = 0; d < DISKS; d++) {
          assertThat(Objects.deepEquals(f.read("vm-disk" + d + "@" + e.getKey(), 0, SIZE), e.getValue().content()[d]))
              .as("seed " + seed + ": snapshot " + e.getKey() + " of disk " + d).isTrue();
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
