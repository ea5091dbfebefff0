package io.vstore.engine;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The inventory's side of {@code pool rebalance}: the moves are written ahead into the pool's record
 * as the pending operation {@value #OPERATION} (each argument {@code DESKTOP|FROM|TO}, datastore
 * directories), so a crash or a stop leaves them recorded for the next rebalance of the pool to take
 * up; each desktop's switch to its new datastore is one save of the record (before it the source
 * holds the desktop, after it the target); the end clears the operation. Opening the inventory
 * leaves it alone: finishing it needs the other datastores.
 */
public final class PoolTransfer {
  /** The pending operation of a pool being rebalanced. */
  public static final String OPERATION = "rebalance";
  private static final String SEPARATOR = "|";

  private PoolTransfer() {}

  /** One desktop's move between two datastore directories. */
  public record Step(String desktop, String from, String to) {
    public Step {
      Objects.requireNonNull(desktop, "desktop");
      Objects.requireNonNull(from, "from");
      Objects.requireNonNull(to, "to");
    }

    private String encode() {
      return desktop + SEPARATOR + from + SEPARATOR + to;
    }

    private static Step decode(String pool, String arg) throws InventoryException {
      String[] parts = arg.split("\\|", -1);
      if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty() || parts[2].isEmpty()) {
        throw new InventoryException("bad inventory: pool " + pool + " pending rebalance has argument '" + arg
            + "', expected DESKTOP|FROM|TO");
      }
      return new Step(parts[0], parts[1], parts[2]);
    }
  }

  /** Returns the moves pool {@code pool}'s unfinished rebalance records, or an empty list when none is under way. */
  public static List<Step> pending(Inventory inv, String pool) throws InventoryException {
    DesktopPool p = inv.pools().get(pool);
    if (p.pending() == null || !OPERATION.equals(p.pending().operation())) {
      return List.of();
    }
    List<Step> out = new ArrayList<>();
    for (String arg : p.pending().args()) {
      out.add(Step.decode(pool, arg));
    }
    return out;
  }

  /**
   * Records {@code steps} as pool {@code pool}'s rebalance; refused while another operation of the
   * pool is unfinished. Nothing is recorded for no steps.
   */
  public static void begin(Inventory inv, String pool, List<Step> steps) throws IOException {
    synchronized (inv) {
      DesktopPool p = inv.pools().get(pool);
      if (p.pending() != null) {
        throw new InventoryException("pool " + pool + " has an unfinished " + p.pending().operation());
      }
      if (steps.isEmpty()) {
        return;
      }
      List<String> args = new ArrayList<>();
      for (Step s : steps) {
        if (p.desktop(s.desktop()) == null) {
          throw new InventoryException("pool " + pool + " has no desktop " + s.desktop());
        }
        if (s.desktop().contains(SEPARATOR) || s.from().contains(SEPARATOR) || s.to().contains(SEPARATOR)) {
          throw new IllegalArgumentException("cannot record the move of desktop " + s.desktop() + ": '" + SEPARATOR
              + "' in a name or datastore directory");
        }
        args.add(s.encode());
      }
      inv.save(inv.document().with(p.withPending(new Pending(OPERATION, args))));
    }
  }

  /** Returns the directory of the datastore desktop {@code d} of a pool of {@code inv} lives in. */
  public static String location(Inventory inv, Desktop d) {
    return d.datastore() != null ? d.datastore() : inv.pools().home();
  }

  /**
   * Records that desktop {@code desktop} of pool {@code pool} lives in datastore {@code dir} from now
   * on: the switch of its move, one durable save.
   */
  public static void switched(Inventory inv, String pool, String desktop, String dir) throws IOException {
    synchronized (inv) {
      DesktopPool p = inv.pools().get(pool);
      String at = dir.equals(inv.pools().home()) ? null : dir;
      List<Desktop> next = new ArrayList<>();
      for (Desktop d : p.desktops()) {
        next.add(d.name().equals(desktop) ? d.in(at) : d);
      }
      inv.save(inv.document().with(p.withDesktops(next)));
    }
  }

  /** Ends pool {@code pool}'s rebalance (done, or stopped with every desktop wholly in one datastore). */
  public static void end(Inventory inv, String pool) throws IOException {
    synchronized (inv) {
      DesktopPool p = inv.pools().get(pool);
      if (p.pending() != null && OPERATION.equals(p.pending().operation())) {
        inv.save(inv.document().with(p.withPending(null)));
      }
    }
  }
}
