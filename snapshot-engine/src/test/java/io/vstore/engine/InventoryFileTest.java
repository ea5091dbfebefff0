package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;

/**
 * Damaged inventory files: random byte flips, truncations and field edits of a real inventory
 * document either load (and reconcile) or fail with an {@link InventoryException} naming the
 * file — never another exception type.
 */
final class InventoryFileTest {
  private Path dir;
  private byte[] valid;

  @BeforeProperty
  void makeInventory() throws IOException {
    dir = Files.createTempDirectory("vstore-engine-inventory");
    try (Fixture f = new Fixture(dir.resolve("ds"))) {
      f.vms().create("gold", List.of(1L << 20, 1L << 20), new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree("{\"cpus\":2}"));
      f.vms().snapshot("gold", "a", "first");
      f.vms().snapshot("gold", "b", "second");
      f.vms().revert("gold", "a");
      f.pools().create("lab", "gold", "a", 2, 4096, 4096);
    }
    valid = Files.readAllBytes(dir.resolve("ds/engine/inventory.json"));
  }

  @AfterProperty
  void removeDir() throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static final String[] EDITS = {"\"gold\"", "\"a\"", "\"lab\"", "null", "[]", "{}", "1", "\"\"", "-5",
      "\"create\"", "\"recompose\"", "\"x@y\"", "true"};

  @Property(tries = 200, shrinking = ShrinkingMode.OFF)
  void aDamagedInventoryLoadsOrFailsWithAnInventoryException(@ForAll long seed) throws IOException {
    Random r = new Random(seed);
    String text = new String(valid, java.nio.charset.StandardCharsets.UTF_8);
    byte[] bad;
    switch (r.nextInt(3)) {
      case 0 -> {
        bad = valid.clone();
        for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
          bad[r.nextInt(bad.length)] ^= (byte) (1 << r.nextInt(8));
        }
      }
      case 1 -> bad = java.util.Arrays.copyOf(valid, r.nextInt(valid.length));
      default -> {
        // Replace one JSON value (after a colon) with another value of any type.
        int colon = text.indexOf(':', r.nextInt(text.length()));
        if (colon < 0) {
          colon = text.indexOf(':');
        }
        int end = colon + 1;
        while (end < text.length() && ",}\n".indexOf(text.charAt(end)) < 0) {
          end++;
        }
        bad = (text.substring(0, colon + 1) + " " + EDITS[r.nextInt(EDITS.length)] + text.substring(end))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      }
    }
    Path file = dir.resolve("ds/engine/inventory.json");
    Files.write(file, bad);
    try (Datastore ds = Datastore.open(dir.resolve("ds"), Fixture.options())) {
      try {
        Inventory inv = Inventory.open(ds);
        // Whatever loaded is usable: listing and reports work.
        inv.vms().list().forEach(vm -> assertThat(vm.name()).isNotNull());
        for (DesktopPool p : inv.pools().list()) {
          inv.pools().report(p.name());
        }
      } catch (InventoryException e) {
        assertThat(e.getMessage()).as("seed " + seed).containsPattern("^(bad|unsupported) inventory: ")
            .contains("inventory.json");
      } catch (IOException e) {
        // A reconciliation that touches the datastore may refuse with the datastore's own error.
        assertThat(e.getClass().getSimpleName()).as("seed " + seed + ": " + e).isEqualTo("DatastoreException");
      } finally {
        Files.write(file, valid);
      }
    }
  }
}
