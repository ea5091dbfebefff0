package io.vstore.engine;

import io.vstore.blockstore.store.Datastore;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * The child process of {@link EngineKillNineTest}: opens the datastore and its inventory, then
 * loops through pool recompose, pool refresh, VM snapshot create and VM snapshot delete until it
 * is killed, printing {@code done N} after each operation.
 */
final class EngineKillWorkload {
  private EngineKillWorkload() {}

  /** Runs the workload on datastore {@code args[0]}, naming its snapshots with prefix {@code args[1]}. */
  public static void main(String[] args) throws Exception {
    PrintStream out = System.out;
    try (Datastore ds = Datastore.open(Path.of(args[0]), Fixture.options())) {
      Inventory inv = Inventory.open(ds);
      String prefix = args[1];
      out.println("ready");
      out.flush();
      for (int i = 0; ; i++) {
        switch (i % 4) {
          case 0 -> inv.pools().recompose("p", "gold", inv.pools().get("p").base().endsWith("@s0") ? "s1" : "s0");
          case 1 -> inv.pools().refresh("p", i % 8 == 1 ? null : "p-2");
          case 2 -> inv.vms().snapshot("gold", prefix + i, "kill workload");
          default -> inv.vms().deleteSnapshot("gold", prefix + (i - 1));
        }
        out.println("done " + i);
        out.flush();
      }
    }
  }
}
