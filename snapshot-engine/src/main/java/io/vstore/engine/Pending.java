package io.vstore.engine;

import java.util.List;

/**
 * An operation written ahead into an inventory record and not yet finished; opening the inventory
 * finishes or undoes it.
 *
 * @param operation what was under way: {@code create}, {@code delete}, {@code snapshot-create},
 *     {@code snapshot-delete}, {@code revert}, {@code recompose}, {@code refresh} or {@code rebalance}
 * @param args its arguments (a snapshot name, a base {@code VM@SNAP}, desktop names)
 */
public record Pending(String operation, List<String> args) {
  public Pending {
    args = List.copyOf(args == null ? List.of() : args);
  }

  /** Returns a pending operation with the given arguments. */
  static Pending of(String operation, String... args) {
    return new Pending(operation, List.of(args));
  }
}
