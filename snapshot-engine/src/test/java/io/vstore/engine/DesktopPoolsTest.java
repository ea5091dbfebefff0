package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Desktop pools: create, recompose, refresh, delete, the space report and refusals. */
final class DesktopPoolsTest {
  private static final long DISK = 1L << 20;
  @TempDir Path tmp;

  private static byte[] fill(int value, int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new java.util.Random(seed).nextBytes(b);
    return b;
  }

  /** A base VM with two disks marked "v1" / "v2" at two snapshots. */
  private static void baseVm(Fixture f) throws IOException {
    f.vms().create("gold", List.of(DISK, DISK), null);
    f.write("gold-disk0", 0, fill(1, 4096));
    f.write("gold-disk1", 0, fill(11, 4096));
    f.vms().snapshot("gold", "v1", "first image");
    f.write("gold-disk0", 0, fill(2, 4096));
    f.write("gold-disk1", 0, fill(12, 4096));
    f.vms().snapshot("gold", "v2", "patched image");
  }

  @Test
  void desktopsAreLinkedClonesOfOneReplicaAndKeepPersistentDisksThroughRecomposeAndRefresh() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      baseVm(f);
      DesktopPool p = f.pools().create("lab", "gold", "v1", 3, DISK, DISK);
      assertThat(p.replica()).containsExactly("lab-replica1-disk0", "lab-replica1-disk1");
      assertThat(p.desktops()).extracting(Desktop::name).containsExactly("lab-1", "lab-2", "lab-3");
      assertThat(f.store.volumeInfo("lab-replica1-disk0").parent()).isEqualTo("gold-disk0@v1");
      assertThat(f.store.volumeInfo("lab-2-disk1").parent()).isEqualTo("lab-replica1-disk1@replica");
      assertThat(f.read("lab-2-disk0", 0, 4096)).isEqualTo(fill(1, 4096));
      assertThat(f.read("lab-2-disk1", 0, 4096)).isEqualTo(fill(11, 4096));

      // Each desktop writes to its system, persistent and disposable disks.
      for (int n = 1; n <= 3; n++) {
        f.write("lab-" + n + "-disk0", 8192, fill(100 + n, 4096));
        f.write("lab-" + n + "-persistent", 0, fill(50 + n, 4096));
        f.write("lab-" + n + "-disposable", 0, fill(70 + n, 4096));
      }

      f.pools().recompose("lab", "gold", "v2");
      DesktopPool r = f.pools().get("lab");
      assertThat(r.base()).isEqualTo("gold@v2");
      assertThat(r.generation()).isEqualTo(2);
      assertThat(f.store.hasVolume("lab-replica1-disk0")).isFalse();
      assertThat(f.store.volumeInfo("lab-1-disk0").parent()).isEqualTo("lab-replica2-disk0@replica");
      for (int n = 1; n <= 3; n++) {
        assertThat(f.read("lab-" + n + "-disk0", 0, 4096)).isEqualTo(fill(2, 4096));
        assertThat(f.read("lab-" + n + "-disk1", 0, 4096)).isEqualTo(fill(12, 4096));
        assertThat(f.read("lab-" + n + "-disk0", 8192, 4096)).as("system disk is new").isEqualTo(new byte[4096]);
        assertThat(f.read("lab-" + n + "-persistent", 0, 4096)).isEqualTo(fill(50 + n, 4096));
        assertThat(f.read("lab-" + n + "-disposable", 0, 4096)).as("recompose keeps disposable disks")
            .isEqualTo(fill(70 + n, 4096));
      }

      f.write("lab-2-disk0", 8192, fill(9, 4096));
      f.write("lab-3-disk0", 8192, fill(9, 4096));
      f.pools().refresh("lab", "lab-2");
      assertThat(f.read("lab-2-disk0", 8192, 4096)).isEqualTo(new byte[4096]);
      assertThat(f.read("lab-2-disk0", 0, 4096)).isEqualTo(fill(2, 4096));
      assertThat(f.read("lab-2-disposable", 0, 4096)).isEqualTo(new byte[4096]);
      assertThat(f.read("lab-2-persistent", 0, 4096)).isEqualTo(fill(52, 4096));
      assertThat(f.read("lab-3-disk0", 8192, 4096)).as("other desktops untouched").isEqualTo(fill(9, 4096));
      assertThat(f.read("lab-3-disposable", 0, 4096)).isEqualTo(fill(73, 4096));

      f.pools().refresh("lab", null);
      assertThat(f.read("lab-3-disk0", 8192, 4096)).isEqualTo(new byte[4096]);
      assertThat(f.read("lab-3-disposable", 0, 4096)).isEqualTo(new byte[4096]);
      assertThat(f.read("lab-3-persistent", 0, 4096)).isEqualTo(fill(53, 4096));
      f.assertConsistent();

      f.reopen();
      assertThat(f.pools().get("lab").desktop("lab-3").persistentDisk()).isEqualTo("lab-3-persistent");
      f.pools().delete("lab");
      assertThat(f.pools().list()).isEmpty();
      assertThat(f.store.volumes()).extracting(v -> v.name()).containsExactly("gold-disk0", "gold-disk1");
    }
  }

  @Test
  void refreshingAPoolLargerThanOneDeleteBatchResetsEveryDesktopEvenAfterAnInterruption() throws IOException {
    int desktops = 2 * Inventory.DELETE_BATCH + 5; // three batched deletions, the last one short
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      baseVm(f);
      f.pools().create("big", "gold", "v2", desktops, 0, DISK);
      for (int n = 1; n <= desktops; n++) {
        f.write("big-" + n + "-disk0", 4096L * (1 + n % 200), random(n, 4096));
        f.write("big-" + n + "-disk1", 0, random(-n, 4096));
        f.write("big-" + n + "-disposable", 8192, random(1000 + n, 4096));
      }
      f.pools().refresh("big", null);
      assertReset(f, desktops);
      f.assertConsistent();

      // Refused halfway (as an export would refuse): earlier batches are gone, later ones not; the
      // refresh stays pending and the next open finishes it.
      for (int n = 1; n <= desktops; n++) {
        f.write("big-" + n + "-disk0", 4096L * (1 + n % 200), random(n, 4096));
      }
      String held = "big-" + (Inventory.DELETE_BATCH + 3) + "-disk1";
      f.store.setDeletionGuard((volume, snapshot) -> {
        if (volume.equals(held)) {
          throw new IllegalStateException(volume + " is exported");
        }
      });
      assertThatThrownBy(() -> f.pools().refresh("big", null)).hasMessage(held + " is exported");
      assertThat(f.pools().get("big").pending().operation()).isEqualTo("refresh");
      assertThat(f.store.hasVolume("big-1-disk0")).as("the first batch went").isFalse();
      assertThat(f.read("big-" + desktops + "-disk0", 4096L * (1 + desktops % 200), 4096))
          .as("the last batch did not").isEqualTo(random(desktops, 4096));
      f.store.setDeletionGuard(io.vstore.blockstore.store.DeletionGuard.NONE);
      f.reopen();
      assertThat(f.pools().get("big").pending()).isNull();
      assertReset(f, desktops);
    }
  }

  /** Asserts every desktop of pool "big" reads the base's v2 image and an empty disposable disk. */
  private static void assertReset(Fixture f, int desktops) throws IOException {
    for (int n = 1; n <= desktops; n++) {
      String d = "big-" + n;
      assertThat(f.store.volumeInfo(d + "-disk0").parent()).isEqualTo("big-replica1-disk0@replica");
      assertThat(f.read(d + "-disk0", 0, 4096)).as("%s disk0", d).isEqualTo(fill(2, 4096));
      assertThat(f.read(d + "-disk0", 4096L * (1 + n % 200), 4096)).as("%s disk0 write gone", d)
          .isEqualTo(new byte[4096]);
      assertThat(f.read(d + "-disk1", 0, 4096)).as("%s disk1", d).isEqualTo(fill(12, 4096));
      assertThat(f.read(d + "-disposable", 8192, 4096)).as("%s disposable", d).isEqualTo(new byte[4096]);
      assertThat(f.store.volumeInfo(d + "-disk0").allocated()).as("%s owns nothing", d).isZero();
    }
  }

  @Test
  void theSpaceReportCountsTheBaseOnceAndEachDesktopsOwnWrites() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("gold", List.of(4L << 20), null);
      f.write("gold-disk0", 0, random(1, 4 << 20));
      f.vms().snapshot("gold", "v1", "");
      f.pools().create("lab", "gold", "v1", 10, 0, 0);
      for (int n = 1; n <= 10; n++) {
        f.write("lab-" + n + "-disk0", 0, random(100 + n, 64 << 10));
      }
      PoolReport r = f.pools().report("lab");
      assertThat(r.desktops()).isEqualTo(10);
      assertThat(r.provisioned()).isEqualTo(10 * (4L << 20));
      assertThat(r.baseAllocated()).isBetween(4L << 20, (4L << 20) + (64 << 10));
      assertThat(r.poolAllocated()).isBetween(10 * (64L << 10), 10 * (64L << 10) + (64 << 10));
      assertThat(r.allocated()).isEqualTo(r.poolAllocated() + r.baseAllocated());
      assertThat(r.ratio()).isCloseTo((double) r.provisioned() / r.allocated(), org.assertj.core.data.Offset.offset(1e-9));
      assertThat(r.ratio()).isGreaterThan(8);
    }
  }

  @Test
  void poolsRefuseBadInputAndProtectTheirBase() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      baseVm(f);
      assertThatThrownBy(() -> f.pools().create("bad@name", "gold", "v1", 1, 0, 0)).hasMessageContaining("bad pool name");
      assertThatThrownBy(() -> f.pools().create("p", "gold", "v1", 0, 0, 0)).hasMessageContaining("1 to 10000 desktops");
      assertThatThrownBy(() -> f.pools().create("p", "gold", "v9", 1, 0, 0)).hasMessageContaining("no snapshot v9");
      assertThatThrownBy(() -> f.pools().create("p", "none", "v1", 1, 0, 0)).hasMessageContaining("no VM none");
      assertThatThrownBy(() -> f.pools().create("p", "gold", "v1", 1, 1000, 0)).hasMessageContaining("multiple of 512");
      f.store.createVolume("p-2-disk0", 4096).close();
      assertThatThrownBy(() -> f.pools().create("p", "gold", "v1", 2, 0, 0))
          .hasMessageContaining("volume p-2-disk0 already exists");
      f.store.deleteVolume("p-2-disk0");
      f.pools().create("p", "gold", "v1", 2, 0, 0);
      assertThatThrownBy(() -> f.pools().create("p", "gold", "v1", 2, 0, 0)).hasMessageContaining("pool p already exists");
      assertThatThrownBy(() -> f.vms().deleteSnapshot("gold", "v1")).hasMessageContaining("pool p is built from it");
      assertThatThrownBy(() -> f.vms().delete("gold")).hasMessageContaining("pool p is built from gold@v1");
      assertThatThrownBy(() -> f.pools().refresh("p", "p-9")).hasMessageContaining("no desktop p-9");
      assertThatThrownBy(() -> f.pools().recompose("p", "gold", "v7")).hasMessageContaining("no snapshot v7");
      assertThatThrownBy(() -> f.pools().get("q")).hasMessageContaining("no pool q");
      f.pools().recompose("p", "gold", "v2");
      f.vms().deleteSnapshot("gold", "v1");
      f.pools().delete("p");
      f.vms().delete("gold");
    }
  }
}
