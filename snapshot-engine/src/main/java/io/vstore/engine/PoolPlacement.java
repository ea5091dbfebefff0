package io.vstore.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Plans {@code pool rebalance} (View Composer's rebalance): which desktops move to which datastore so
 * that the pool's desktops are spread over the datastores it may use by their free space, keeping
 * below the capacity thresholds. Pure: figures in, moves out.
 *
 * <ul>
 *   <li>A desktop in a datastore the pool may not use moves first, to the allowed datastore that is
 *       emptiest after the move and stays below its critical threshold; with none, the plan is refused.
 *   <li>Then, while it lowers the fullest datastore's usage, one desktop at a time moves from the
 *       fullest datastore (usage = used / capacity) to another where it stays below the warning
 *       threshold; the pair chosen is the one after which the fuller of the two is emptiest.
 *   <li>Each desktop moves at most once. A datastore without the pool's replica pays the replica's
 *       bytes with the first desktop it receives (the base is copied once per datastore).
 * </ul>
 */
public final class PoolPlacement {
  private PoolPlacement() {}

  /**
   * One datastore as the plan sees it.
   *
   * @param dir its directory
   * @param capacity its capacity limit in bytes, positive
   * @param used the bytes it uses now
   * @param warningPercent usage at which it warns
   * @param criticalPercent usage at which it raises a critical alarm
   * @param hasReplica whether it holds the pool's replica already
   */
  public record Store(String dir, long capacity, long used, int warningPercent, int criticalPercent,
      boolean hasReplica) {
    public Store {
      Objects.requireNonNull(dir, "dir");
      if (capacity <= 0 || used < 0 || warningPercent <= 0 || criticalPercent < warningPercent || criticalPercent > 100) {
        throw new IllegalArgumentException("bad datastore figures for " + dir + ": capacity " + capacity + ", used "
            + used + ", warning " + warningPercent + "%, critical " + criticalPercent + "%");
      }
    }
  }

  /**
   * One desktop as the plan sees it.
   *
   * @param desktop its name
   * @param dir the directory of the datastore it lives in
   * @param bytes what it allocates there (what a move frees there and takes at the target)
   */
  public record Member(String desktop, String dir, long bytes) {
    public Member {
      Objects.requireNonNull(desktop, "desktop");
      Objects.requireNonNull(dir, "dir");
      if (bytes < 0) {
        throw new IllegalArgumentException("desktop " + desktop + " has negative size " + bytes);
      }
    }
  }

  /** One desktop to move, and the bytes it takes along. */
  public record Move(String desktop, String from, String to, long bytes) {}

  /**
   * A datastore before and after the plan.
   *
   * @param replicaCopied whether the plan copies the pool's replica there
   */
  public record Projection(String dir, long capacity, long usedBefore, long usedAfter, int warningPercent,
      int criticalPercent, int desktopsBefore, int desktopsAfter, boolean replicaCopied) {
    /** Returns the usage after the plan, in percent. */
    public double percentAfter() {
      return 100.0 * usedAfter / capacity;
    }

    /** Returns the usage before the plan, in percent. */
    public double percentBefore() {
      return 100.0 * usedBefore / capacity;
    }
  }

  /** A plan: the moves in the order to run them, and every datastore's figures before and after. */
  public record Plan(List<Move> moves, List<Projection> datastores) {
    public Plan {
      moves = List.copyOf(moves);
      datastores = List.copyOf(datastores);
    }
  }

  /**
   * Plans the moves of {@code members} over {@code stores} (every datastore a member lives in or may
   * move to), allowed only in {@code allowed}; the first desktop moved to a datastore without the
   * replica adds {@code replicaBytes} there.
   *
   * @throws IllegalArgumentException if a member lives in a datastore not given, or an allowed one is
   *     not given
   * @throws IllegalStateException if a desktop must leave a datastore the pool may not use and no
   *     allowed datastore has room for it below its critical threshold
   */
  public static Plan plan(List<Store> stores, List<Member> members, long replicaBytes, Set<String> allowed) {
    if (replicaBytes < 0) {
      throw new IllegalArgumentException("negative replica size " + replicaBytes);
    }
    Map<String, State> byDir = new LinkedHashMap<>();
    for (Store s : stores) {
      if (byDir.put(s.dir(), new State(s)) != null) {
        throw new IllegalArgumentException("datastore " + s.dir() + " given twice");
      }
    }
    for (String dir : allowed) {
      if (!byDir.containsKey(dir)) {
        throw new IllegalArgumentException("no figures for allowed datastore " + dir);
      }
    }
    Map<String, Member> where = new LinkedHashMap<>();
    for (Member m : members) {
      State s = byDir.get(m.dir());
      if (s == null) {
        throw new IllegalArgumentException("desktop " + m.desktop() + " lives in " + m.dir() + ", which has no figures");
      }
      if (where.put(m.desktop(), m) != null) {
        throw new IllegalArgumentException("desktop " + m.desktop() + " given twice");
      }
      s.desktops++;
    }
    for (State s : byDir.values()) {
      s.desktopsBefore = s.desktops;
    }
    List<Move> moves = new ArrayList<>();
    Set<String> moved = new HashSet<>();
    List<Member> evicted = members.stream().filter(m -> !allowed.contains(m.dir()))
        .sorted(Comparator.comparingLong(Member::bytes).reversed().thenComparing(Member::desktop)).toList();
    for (Member m : evicted) {
      State best = null;
      long bestAfter = 0;
      for (String dir : allowed) {
        State t = byDir.get(dir);
        long after = t.used + m.bytes() + t.replicaCost(replicaBytes);
        if (below(after, t.store.capacity(), t.store.criticalPercent())
            && (best == null || (double) after / t.store.capacity() < (double) bestAfter / best.store.capacity())) {
          best = t;
          bestAfter = after;
        }
      }
      if (best == null) {
        throw new IllegalStateException("cannot rebalance: desktop " + m.desktop() + " must leave " + m.dir()
            + " (not one of the pool's datastores) but no datastore of the pool has room for its "
            + m.bytes() + " bytes below its critical threshold");
      }
      moves.add(move(m, byDir.get(m.dir()), best, replicaBytes));
      moved.add(m.desktop());
    }
    while (true) {
      State src = null;
      for (String dir : allowed) {
        State s = byDir.get(dir);
        if (s.desktops > 0 && (src == null || s.fraction() > src.fraction())) {
          src = s;
        }
      }
      if (src == null) {
        break;
      }
      double peak = src.fraction();
      Member bestMember = null;
      State bestTarget = null;
      double bestPeak = peak;
      for (Member m : members) {
        if (moved.contains(m.desktop()) || !m.dir().equals(src.store.dir())) {
          continue;
        }
        for (String dir : allowed) {
          State t = byDir.get(dir);
          if (t == src) {
            continue;
          }
          long after = t.used + m.bytes() + t.replicaCost(replicaBytes);
          if (!below(after, t.store.capacity(), t.store.warningPercent())) {
            continue;
          }
          double newPeak = Math.max((double) (src.used - m.bytes()) / src.store.capacity(),
              (double) after / t.store.capacity());
          if (newPeak < bestPeak) {
            bestPeak = newPeak;
            bestMember = m;
            bestTarget = t;
          }
        }
      }
      if (bestMember == null) {
        break; // no single move lowers the fullest datastore: balanced as far as whole desktops go
      }
      moves.add(move(bestMember, src, bestTarget, replicaBytes));
      moved.add(bestMember.desktop());
    }
    List<Projection> out = new ArrayList<>();
    for (State s : byDir.values()) {
      out.add(new Projection(s.store.dir(), s.store.capacity(), s.store.used(), s.used, s.store.warningPercent(),
          s.store.criticalPercent(), s.desktopsBefore, s.desktops, s.replicaAdded));
    }
    return new Plan(moves, out);
  }

  private static Move move(Member m, State from, State to, long replicaBytes) {
    to.used += m.bytes() + to.replicaCost(replicaBytes);
    to.replicaAdded |= !to.hasReplica;
    to.hasReplica = true;
    to.desktops++;
    from.used -= m.bytes();
    from.desktops--;
    return new Move(m.desktop(), m.dir(), to.store.dir(), m.bytes());
  }

  /** Returns whether {@code used} bytes of {@code capacity} stay below {@code percent} percent. */
  static boolean below(long used, long capacity, int percent) {
    // used * 100 < capacity * percent in 128 bits: both products can pass a long
    long high = Math.multiplyHigh(used, 100);
    long limitHigh = Math.multiplyHigh(capacity, percent);
    return high != limitHigh ? high < limitHigh : Long.compareUnsigned(used * 100, capacity * percent) < 0;
  }

  /** A datastore's figures as the plan changes them. */
  private static final class State {
    final Store store;
    long used;
    int desktops;
    int desktopsBefore;
    boolean hasReplica;
    boolean replicaAdded;

    State(Store store) {
      this.store = store;
      this.used = store.used();
      this.hasReplica = store.hasReplica();
    }

    double fraction() {
      return (double) used / store.capacity();
    }

    long replicaCost(long replicaBytes) {
      return hasReplica ? 0 : replicaBytes;
    }
  }
}
