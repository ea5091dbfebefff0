package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VM inventory: create, list, delete, snapshots, validation and persistence. */
final class VirtualMachinesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  @Test
  void aVmKeepsItsDisksConfigAndSnapshotsAcrossReopen() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      VirtualMachine vm = f.vms().create("web", List.of(1L << 20, 2L << 20),
          JSON.readTree("{\"cpus\":2,\"nics\":[{\"mac\":\"52:54:00:00:00:01\"}]}"));
      assertThat(vm.disks()).containsExactly("web-disk0", "web-disk1");
      assertThat(f.store.volumeInfo("web-disk1").size()).isEqualTo(2L << 20);
      f.vms().snapshot("web", "s1", "before upgrade");
      f.reopen();
      VirtualMachine again = f.vms().get("web");
      assertThat(again.config().get("nics").get(0).get("mac").asText()).isEqualTo("52:54:00:00:00:01");
      assertThat(again.current()).isEqualTo("s1");
      assertThat(again.snapshot("s1").description()).isEqualTo("before upgrade");
      assertThat(f.store.snapshots("web-disk0")).extracting(s -> s.name()).containsExactly("s1");
      f.vms().delete("web");
      assertThat(f.vms().list()).isEmpty();
      assertThat(f.store.volumes()).isEmpty();
    }
  }

  @Test
  void aVmCreatedWithCloneDisksSharesTheSnapshotAndItsBaseCannotBeDeletedUnderIt() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("base", List.of(1L << 20), null);
      try (var v = f.store.volume("base-disk0")) {
        v.write(0, java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
      }
      f.vms().snapshot("base", "gold", "");
      var gold = new io.vstore.blockstore.SnapshotRef("base-disk0", "gold");
      // A failed clone (no such snapshot) leaves nothing behind: the pending create is undone.
      assertThatThrownBy(() -> f.vms().create("bad", List.of(1L << 20, 4096L),
          java.util.Map.of(1, new io.vstore.blockstore.SnapshotRef("base-disk0", "none")), null))
          .hasMessageContaining("none");
      assertThat(f.vms().list()).extracting(VirtualMachine::name).containsExactly("base");
      assertThat(f.store.hasVolume("bad-disk0")).isFalse();
      assertThatThrownBy(() -> f.vms().create("big", List.of(2L << 20), java.util.Map.of(0, gold), null))
          .hasMessageContaining("needs " + (2L << 20));
      VirtualMachine vm = f.vms().create("vm", List.of(1L << 20, 4096L), java.util.Map.of(0, gold), null);
      assertThat(f.store.volumeInfo("vm-disk0").parent()).isEqualTo("base-disk0@gold");
      assertThat(f.store.volumeInfo("vm-disk1").parent()).isNull();
      byte[] head = new byte[3];
      try (var v = f.store.volume(vm.disks().getFirst(), true)) {
        v.read(0, java.nio.ByteBuffer.wrap(head));
      }
      assertThat(head).containsExactly(1, 2, 3);
      assertThatThrownBy(() -> f.vms().delete("base")).hasMessageContaining("vm-disk0 is a linked clone");
      f.reopen();
      f.vms().delete("vm");
      f.vms().delete("base");
      assertThat(f.store.volumes()).isEmpty();
    }
  }

  @Test
  void badNamesSizesAndMissingObjectsAreRefusedWithoutChangingAnything() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      assertThatThrownBy(() -> f.vms().create("a@b", List.of(4096L), null)).hasMessageContaining("bad VM name");
      assertThatThrownBy(() -> f.vms().create("x".repeat(65), List.of(4096L), null))
          .hasMessageContaining("bad VM name");
      assertThatThrownBy(() -> f.vms().create("v", List.of(1000L), null)).hasMessageContaining("multiple of 512");
      assertThatThrownBy(() -> f.vms().create("v", List.of(), null)).hasMessageContaining("1 to 64 disks");
      assertThatThrownBy(() -> f.vms().create("v", List.of(4096L), JSON.readTree("[1]")))
          .hasMessageContaining("must be a JSON object");
      f.store.createVolume("taken-disk0", 4096).close();
      assertThatThrownBy(() -> f.vms().create("taken", List.of(4096L), null))
          .hasMessageContaining("volume taken-disk0 already exists");
      f.store.deleteVolume("taken-disk0");
      f.vms().create("v", List.of(4096L), null);
      assertThatThrownBy(() -> f.vms().create("v", List.of(4096L), null)).hasMessageContaining("VM v already exists");
      assertThatThrownBy(() -> f.vms().snapshot("v", "bad name", "")).hasMessageContaining("bad snapshot name");
      assertThatThrownBy(() -> f.vms().snapshot("none", "s", "")).hasMessageContaining("no VM none");
      assertThatThrownBy(() -> f.vms().revert("v", "s")).hasMessageContaining("VM v has no snapshot s");
      assertThatThrownBy(() -> f.vms().deleteSnapshot("v", "s")).hasMessageContaining("VM v has no snapshot s");
      f.vms().snapshot("v", "s", "");
      assertThatThrownBy(() -> f.vms().snapshot("v", "s", "")).hasMessageContaining("already has a snapshot s");
      assertThat(f.vms().list()).extracting(VirtualMachine::name).containsExactly("v");
      assertThat(f.vms().get("v").snapshots()).hasSize(1);
    }
  }

  @Test
  void aSnapshotNameTakenOnOneDiskIsRefusedBeforeAnythingChanges() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("v", List.of(4096L, 4096L), null);
      f.store.createSnapshot("v-disk1", "s");
      assertThatThrownBy(() -> f.vms().snapshot("v", "s", "")).hasMessageContaining("v-disk1@s already exists");
      assertThat(f.vms().get("v").snapshots()).isEmpty();
      assertThat(f.store.snapshots("v-disk0")).isEmpty();
      f.store.deleteSnapshot("v-disk1", "s");
    }
  }

  @Test
  void aCorruptOrForeignInventoryFileIsReportedClearly() throws IOException {
    Path dir = tmp.resolve("ds");
    new Fixture(dir).close();
    Path file = dir.resolve("engine/inventory.json");
    Files.createDirectories(file.getParent());
    for (String bad : List.of("{", "[]", "{\"format\":\"other\",\"version\":1}",
        "{\"format\":\"vstore-engine-inventory\",\"version\":99}", "\u0000\u0001garbage")) {
      Files.writeString(file, bad);
      try (Datastore ds = Datastore.open(dir, Fixture.options())) {
        assertThatThrownBy(() -> Inventory.open(ds)).as(bad).isInstanceOf(InventoryException.class)
            .hasMessageMatching("(bad|unsupported) inventory: .*inventory.json.*");
      }
    }
  }

  @Test
  void theInventoryFileIsReplacedWholeAndLeavesNoTempFile() throws IOException {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("v", List.of(4096L), null);
      try (var files = Files.list(f.dir.resolve("engine"))) {
        assertThat(files.map(p -> p.getFileName().toString())).containsExactly("inventory.json");
      }
      assertThat(Files.readString(f.dir.resolve("engine/inventory.json"))).contains("\"v-disk0\"")
          .contains("vstore-engine-inventory");
    }
  }
}
