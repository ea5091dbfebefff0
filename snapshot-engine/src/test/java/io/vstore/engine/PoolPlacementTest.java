package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.testing.ModelRun;
import io.vstore.engine.PoolPlacement.Member;
import io.vstore.engine.PoolPlacement.Move;
import io.vstore.engine.PoolPlacement.Plan;
import io.vstore.engine.PoolPlacement.Projection;
import io.vstore.engine.PoolPlacement.Store;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The rebalance plan: given datastores' figures and desktops' sizes, the moves. Seeded random cases
 * check the plan against the figures recomputed from its moves (a model), and its promises: desktops
 * in a datastore the pool may not use leave it, nothing moves past a target's warning threshold (its
 * critical one for an eviction), the fullest allowed datastore never gets fuller, each desktop
 * moves once, and no further single move would lower the peak.
 */
final class PoolPlacementTest {
  private static final long GIB = 1L << 30;

  @Test
  void spreadsAPoolFromOneFullDatastoreOverAnEmptyOne() {
    List<Store> stores = List.of(new Store("/a", 100 * GIB, 60 * GIB, 80, 90, true),
        new Store("/b", 100 * GIB, 0, 80, 90, false));
    List<Member> desktops = new ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      desktops.add(new Member("lab-" + i, "/a", 4 * GIB));
    }
    Plan plan = PoolPlacement.plan(stores, desktops, 10 * GIB, Set.of("/a", "/b"));
    // /b pays the 10 GiB replica with its first desktop; after 6 moves /a holds 36 GiB and /b 34, and a
    // seventh would leave /b (38) fuller than /a is now.
    assertThat(plan.moves()).hasSize(6).allMatch(m -> m.from().equals("/a") && m.to().equals("/b"));
    Projection b = plan.datastores().get(1);
    assertThat(b.usedAfter()).isEqualTo(34 * GIB);
    assertThat(b.replicaCopied()).isTrue();
    assertThat(b.desktopsAfter()).isEqualTo(6);
    assertThat(plan.datastores().get(0).usedAfter()).isEqualTo(36 * GIB);
  }

  @Test
  void neverFillsATargetPastItsWarningThreshold() {
    List<Store> stores = List.of(new Store("/a", 100 * GIB, 95 * GIB, 80, 90, true),
        new Store("/b", 10 * GIB, 5 * GIB, 80, 90, true));
    List<Member> desktops = List.of(new Member("d1", "/a", 2 * GIB), new Member("d2", "/a", 2 * GIB),
        new Member("d3", "/a", 2 * GIB));
    Plan plan = PoolPlacement.plan(stores, desktops, 0, Set.of("/a", "/b"));
    // /b at 5 GiB of 10 with warning at 80 %: one 2 GiB desktop fits (70 %), a second would reach 90 %.
    assertThat(plan.moves()).extracting(Move::desktop).containsExactly("d1");
  }

  @Test
  void desktopsLeaveADatastoreThePoolMayNoLongerUse() {
    List<Store> stores = List.of(new Store("/a", 100 * GIB, 10 * GIB, 80, 90, true),
        new Store("/b", 100 * GIB, 50 * GIB, 80, 90, true));
    List<Member> desktops = List.of(new Member("d1", "/b", GIB), new Member("d2", "/a", GIB));
    Plan plan = PoolPlacement.plan(stores, desktops, 0, Set.of("/a"));
    assertThat(plan.moves()).containsExactly(new Move("d1", "/b", "/a", GIB));

    List<Store> full = List.of(new Store("/a", 10 * GIB, 9 * GIB, 80, 90, true),
        new Store("/b", 100 * GIB, 50 * GIB, 80, 90, true));
    assertThatThrownBy(() -> PoolPlacement.plan(full, desktops, 0, Set.of("/a")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("desktop d1 must leave /b")
        .hasMessageContaining("critical threshold");
  }

  @Test
  void aBalancedPoolDoesNotMove() {
    List<Store> stores = List.of(new Store("/a", 100 * GIB, 40 * GIB, 80, 90, true),
        new Store("/b", 100 * GIB, 39 * GIB, 80, 90, true));
    List<Member> desktops = List.of(new Member("d1", "/a", 2 * GIB), new Member("d2", "/b", 2 * GIB));
    assertThat(PoolPlacement.plan(stores, desktops, 0, Set.of("/a", "/b")).moves()).isEmpty();
  }

  @Test
  void thresholdComparisonIsExactForHugeFigures() {
    assertThat(PoolPlacement.below(79, 100, 80)).isTrue();
    assertThat(PoolPlacement.below(80, 100, 80)).isFalse();
    long cap = Long.MAX_VALUE / 2;
    assertThat(PoolPlacement.below(cap / 100 * 80 - 1, cap, 80)).isTrue();
    assertThat(PoolPlacement.below(cap, cap, 100)).isFalse();
    assertThat(PoolPlacement.below(cap - 1, cap, 100)).isTrue();
  }

  @Test
  void randomFiguresGivePlansThatKeepTheirPromises() {
    ModelRun.seeds(200).forEach(seed -> ModelRun.run(seed, run -> {
      Random r = run.random();
      int storeCount = 1 + r.nextInt(4);
      List<Store> stores = new ArrayList<>();
      for (int i = 0; i < storeCount; i++) {
        long cap = (1 + r.nextInt(200)) * GIB;
        int warning = 50 + r.nextInt(40);
        int critical = warning + 1 + r.nextInt(100 - warning);
        stores.add(new Store("/ds" + i, cap, (long) (cap * r.nextDouble() * 0.95), warning, critical, i == 0 || r.nextBoolean()));
      }
      Set<String> allowed = new LinkedHashSet<>();
      for (Store s : stores) {
        if (r.nextInt(3) > 0) {
          allowed.add(s.dir());
        }
      }
      if (allowed.isEmpty()) {
        allowed.add(stores.get(r.nextInt(storeCount)).dir());
      }
      List<Member> members = new ArrayList<>();
      int count = r.nextInt(40);
      for (int i = 0; i < count; i++) {
        members.add(new Member("d" + i, stores.get(r.nextInt(storeCount)).dir(), (long) (r.nextDouble() * 3 * GIB)));
      }
      long replica = (long) (r.nextDouble() * 5 * GIB);
      run.context(storeCount + " datastores, " + count + " desktops, allowed " + allowed);
      run.step(0, "plan");
      Plan plan;
      try {
        plan = PoolPlacement.plan(stores, members, replica, allowed);
      } catch (IllegalStateException refused) {
        // Only an eviction may be refused, and only when no allowed datastore can take the desktop.
        assertThat(refused.getMessage()).contains("must leave");
        return;
      }
      run.finish("checks");
      // The model: the figures recomputed from the moves.
      Map<String, Long> used = new HashMap<>();
      Map<String, Boolean> replicaAt = new HashMap<>();
      Map<String, Store> byDir = new HashMap<>();
      for (Store s : stores) {
        used.put(s.dir(), s.used());
        replicaAt.put(s.dir(), s.hasReplica());
        byDir.put(s.dir(), s);
      }
      Map<String, String> where = new HashMap<>();
      Map<String, Long> size = new HashMap<>();
      members.forEach(m -> {
        where.put(m.desktop(), m.dir());
        size.put(m.desktop(), m.bytes());
      });
      double peakBefore = peak(used, byDir, allowed, where);
      Set<String> seen = new HashSet<>();
      for (Move m : plan.moves()) {
        assertThat(seen.add(m.desktop())).as("desktop %s moves once", m.desktop()).isTrue();
        assertThat(where.get(m.desktop())).isEqualTo(m.from());
        assertThat(allowed).contains(m.to());
        assertThat(m.bytes()).isEqualTo(size.get(m.desktop()));
        long cost = m.bytes() + (replicaAt.get(m.to()) ? 0 : replica);
        used.merge(m.from(), -m.bytes(), Long::sum);
        used.merge(m.to(), cost, Long::sum);
        replicaAt.put(m.to(), true);
        where.put(m.desktop(), m.to());
        Store t = byDir.get(m.to());
        int limit = allowed.contains(m.from()) ? t.warningPercent() : t.criticalPercent();
        assertThat(100.0 * used.get(m.to()) / t.capacity()).as("%s after moving %s", m.to(), m.desktop())
            .isLessThan(limit);
      }
      assertThat(where.values()).allMatch(allowed::contains);
      for (Projection p : plan.datastores()) {
        assertThat(p.usedAfter()).as("projected use of %s", p.dir()).isEqualTo(used.get(p.dir()));
        assertThat(p.desktopsAfter()).isEqualTo((int) where.values().stream().filter(p.dir()::equals).count());
      }
      boolean evicted = members.stream().anyMatch(m -> !allowed.contains(m.dir()));
      if (!evicted) {
        assertThat(peak(used, byDir, allowed, where)).isLessThanOrEqualTo(peakBefore);
      }
      // No single further move of a desktop not moved yet lowers the fullest datastore.
      String top = null;
      for (String dir : allowed) {
        if (where.containsValue(dir) && (top == null || frac(used, byDir, dir) > frac(used, byDir, top))) {
          top = dir;
        }
      }
      for (Member m : members) {
        if (seen.contains(m.desktop()) || !m.dir().equals(top)) {
          continue;
        }
        for (String dir : allowed) {
          if (dir.equals(top)) {
            continue;
          }
          long after = used.get(dir) + m.bytes() + (replicaAt.get(dir) ? 0 : replica);
          Store t = byDir.get(dir);
          if (PoolPlacement.below(after, t.capacity(), t.warningPercent())) {
            double newPeak = Math.max((double) (used.get(top) - m.bytes()) / byDir.get(top).capacity(),
                (double) after / t.capacity());
            assertThat(newPeak).as("moving %s to %s would lower the peak", m.desktop(), dir)
                .isGreaterThanOrEqualTo(frac(used, byDir, top));
          }
        }
      }
    }));
  }

  private static double frac(Map<String, Long> used, Map<String, Store> byDir, String dir) {
    return (double) used.get(dir) / byDir.get(dir).capacity();
  }

  private static double peak(Map<String, Long> used, Map<String, Store> byDir, Set<String> allowed,
      Map<String, String> where) {
    double peak = 0;
    for (String dir : allowed) {
      if (where.containsValue(dir)) {
        peak = Math.max(peak, frac(used, byDir, dir));
      }
    }
    return peak;
  }
}
