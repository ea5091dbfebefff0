package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Damaged inventory files: random byte flips, truncations and field edits of a real inventory
 * document either load (and reconcile) or fail with an {@link InventoryException} naming the
 * file — never another exception type. One case per seed; see {@link ModelRun} to replay one.
 */
final class InventoryFileTest {
  // One datastore for every case, as building it is the slow part; each case restores the file.
  @TempDir static Path dir;
  private static byte[] valid;

  @BeforeAll
  static void makeInventory() throws IOException {
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

  private static final String[] EDITS = {"\"gold\"", "\"a\"", "\"lab\"", "null", "[]", "{}", "1", "\"\"", "-5",
      "\"create\"", "\"recompose\"", "\"x@y\"", "true"};

  static LongStream seeds() {
    return ModelRun.seeds(200);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void aDamagedInventoryLoadsOrFailsWithAnInventoryException(long seed) {
    ModelRun.run(seed, InventoryFileTest::oneRun);
  }

  private static void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    String text = new String(valid, java.nio.charset.StandardCharsets.UTF_8);
    byte[] bad;
    switch (r.nextInt(3)) {
      case 0 -> {
        bad = valid.clone();
        StringBuilder flips = new StringBuilder();
        for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
          int at = r.nextInt(bad.length);
          int bit = r.nextInt(8);
          bad[at] ^= (byte) (1 << bit);
          flips.append(' ').append(at).append('.').append(bit);
        }
        run.step(0, "flip byte.bit" + flips);
      }
      case 1 -> {
        bad = java.util.Arrays.copyOf(valid, r.nextInt(valid.length));
        run.step(0, "truncate to " + bad.length + " of " + valid.length + " bytes");
      }
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
        String edit = EDITS[r.nextInt(EDITS.length)];
        run.step(0, "replace the value after char " + colon + " by " + edit);
        bad = (text.substring(0, colon + 1) + " " + edit + text.substring(end))
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
        assertThat(e.getMessage()).as("message").containsPattern("^(bad|unsupported) inventory: ")
            .contains("inventory.json");
      } catch (IOException e) {
        // A reconciliation that touches the datastore may refuse with the datastore's own error.
        assertThat(e.getClass().getSimpleName()).as(e.toString()).isEqualTo("DatastoreException");
      } finally {
        Files.write(file, valid);
      }
    }
  }
}
