package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.VolumeInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Crash safety of every workflow: the operation is stopped after each of its datastore steps in
 * turn (as a crash between that step and the inventory write would), the datastore and inventory
 * are reopened, and the result must be exactly the state before the operation or after it — the
 * inventory, every volume, its parent, its snapshots and its content — with no orphan volume and
 * a clean datastore check.
 */
@Tag("slow")
final class CrashRecoveryTest {
  private static final long DISK = 256 << 10;
  @TempDir Path tmp;

  /** Thrown from a checkpoint: an Error, so the workflow's own failure handling does not run. */
  private static final class SimulatedCrash extends Error {
    private static final long serialVersionUID = 1L;

    SimulatedCrash(String step) {
      super("simulated crash after " + step, null, false, false);
    }
  }

  private interface Step {
    void run(Fixture f) throws IOException;
  }

  private record Scenario(String name, Step setup, Step operation) {
    @Override
    public String toString() {
      return name;
    }
  }

  private static byte[] fill(int value, int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static void vmWithSnapshots(Fixture f) throws IOException {
    f.vms().create("vm", List.of(DISK, DISK), null);
    f.write("vm-disk0", 0, fill(1, 4096));
    f.write("vm-disk1", 4096, fill(2, 4096));
    f.vms().snapshot("vm", "a", "");
    f.write("vm-disk0", 0, fill(3, 4096));
    f.vms().snapshot("vm", "b", "");
    f.write("vm-disk1", 4096, fill(4, 4096));
  }

  private static void pool(Fixture f) throws IOException {
    vmWithSnapshots(f);
    f.pools().create("p", "vm", "a", 3, DISK, DISK);
    for (int n = 1; n <= 3; n++) {
      f.write("p-" + n + "-disk0", 8192, fill(10 + n, 4096));
      f.write("p-" + n + "-persistent", 0, fill(20 + n, 4096));
      f.write("p-" + n + "-disposable", 0, fill(30 + n, 4096));
    }
  }

  static Stream<Scenario> scenarios() {
    return Stream.of(
        new Scenario("vm create", f -> {}, f -> f.vms().create("vm", List.of(DISK, DISK, DISK), null)),
        new Scenario("vm snapshot", CrashRecoveryTest::vmWithSnapshots, f -> f.vms().snapshot("vm", "c", "")),
        new Scenario("vm revert", CrashRecoveryTest::vmWithSnapshots, f -> f.vms().revert("vm", "a")),
        new Scenario("vm snapshot delete", CrashRecoveryTest::vmWithSnapshots, f -> f.vms().deleteSnapshot("vm", "a")),
        new Scenario("vm delete", CrashRecoveryTest::vmWithSnapshots, f -> f.vms().delete("vm")),
        new Scenario("pool create", CrashRecoveryTest::vmWithSnapshots,
            f -> f.pools().create("p", "vm", "b", 3, DISK, DISK)),
        new Scenario("pool recompose", CrashRecoveryTest::pool, f -> f.pools().recompose("p", "vm", "b")),
        new Scenario("pool refresh", CrashRecoveryTest::pool, f -> f.pools().refresh("p", null)),
        new Scenario("pool delete", CrashRecoveryTest::pool, f -> f.pools().delete("p")),
        new Scenario("vm media add", CrashRecoveryTest::vmWithSnapshots, CrashRecoveryTest::addIso),
        new Scenario("vm media remove", f -> {
          vmWithSnapshots(f);
          addIso(f);
        }, f -> f.inventory.media().remove("vm", "boot.iso")),
        new Scenario("vm delete with media", f -> {
          vmWithSnapshots(f);
          addIso(f);
        }, f -> f.vms().delete("vm")));
  }

  private static void addIso(Fixture f) throws IOException {
    byte[] iso = new byte[100_000];
    new java.util.Random(7).nextBytes(iso);
    f.inventory.media().add("vm", "boot.iso", MediaFile.CDROM, new java.io.ByteArrayInputStream(iso), -1, x -> {});
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void aCrashAfterAnyDatastoreStepLeavesTheBeforeOrTheAfterState(Scenario s) throws IOException {
    List<String> steps = new ArrayList<>();
    String before;
    String after;
    try (Fixture f = new Fixture(tmp.resolve("reference"))) {
      s.setup().run(f);
      before = state(f);
      f.inventory.checkpoints = steps::add;
      s.operation().run(f);
      f.inventory.checkpoints = null;
      after = state(f);
      f.reopen();
      assertThat(state(f)).as("state survives a clean reopen").isEqualTo(after);
    }
    assertThat(before).isNotEqualTo(after);
    assertThat(steps).isNotEmpty();
    for (int k = 0; k < steps.size(); k++) {
      int crashAt = k;
      String where = s + ", crash after step " + k + " (" + steps.get(k) + ")";
      try (Fixture f = new Fixture(tmp.resolve("crash" + k))) {
        s.setup().run(f);
        int[] count = {0};
        f.inventory.checkpoints = step -> {
          if (count[0]++ == crashAt) {
            throw new SimulatedCrash(step);
          }
        };
        assertThatThrownBy(() -> s.operation().run(f)).as(where).isInstanceOf(SimulatedCrash.class);
        f.reopen();
        String recovered = state(f);
        assertThat(recovered).as(where).isIn(before, after);
        for (VirtualMachine vm : f.vms().list()) {
          assertThat(vm.pending()).as(where).isNull();
        }
        for (DesktopPool p : f.pools().list()) {
          assertThat(p.pending()).as(where).isNull();
        }
        f.assertConsistent();
        // After recovery the workflows work again: the operation itself, when it was undone.
        if (recovered.equals(before)) {
          s.operation().run(f);
          assertThat(state(f)).as(where + ", then retried").isEqualTo(after);
        }
      }
    }
  }

  /**
   * Describes everything the operation may change, without timestamps and identities: the
   * inventory's VMs and pools, and every volume's parent, snapshots and content digest.
   */
  private static String state(Fixture f) throws IOException {
    StringBuilder b = new StringBuilder();
    for (VirtualMachine vm : f.vms().list()) {
      b.append("vm ").append(vm.name()).append(' ').append(vm.disks()).append(" current ").append(vm.current());
      for (VmSnapshot s : vm.snapshots()) {
        b.append(' ').append(s.name()).append('<').append(s.parent());
      }
      b.append(" media ").append(vm.media());
      b.append('\n');
    }
    for (DesktopPool p : f.pools().list()) {
      b.append("pool ").append(p.name()).append(' ').append(p.base()).append(" gen ").append(p.generation())
          .append(' ').append(p.replica()).append(' ').append(p.desktops()).append('\n');
    }
    for (VolumeInfo v : f.store.volumes()) {
      b.append("volume ").append(v.name()).append(" parent ").append(v.parent()).append(" snapshots");
      for (SnapshotInfo s : f.store.snapshots(v.name())) {
        b.append(' ').append(s.name()).append('=').append(digest(f, v.name() + "@" + s.name(), v.size()));
      }
      b.append(" content ").append(digest(f, v.name(), v.size())).append('\n');
    }
    return b.toString();
  }

  private static String digest(Fixture f, String spec, long size) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(f.read(spec, 0, Math.toIntExact(size)));
      return HexFormat.of().formatHex(md.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
