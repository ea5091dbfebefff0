package io.vstore.backup.maint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.maint.PrunePolicy.Candidate;
import io.vstore.backup.maint.PrunePolicy.Decision;
import io.vstore.backup.maint.PrunePolicy.Mark;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The prune policy on Proxmox Backup Server's own examples (its documentation and its prune tests,
 * which pin down the semantics the documentation describes), then on seeded random histories
 * against a simple reference written from the documentation's wording.
 */
final class PrunePolicyTest {
  private static final ZoneId UTC = ZoneOffset.UTC;

  private static final List<String> SIMPLE = List.of(
      "2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z", "2019-12-04T12:59:15Z");
  private static final List<String> SIMPLE2 = List.of(
      "2018-11-15T11:59:15Z", "2019-11-15T11:59:15Z", "2019-11-21T11:59:15Z", "2019-11-22T11:59:15Z",
      "2019-11-29T11:59:15Z", "2019-12-01T11:59:15Z", "2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z",
      "2019-12-04T11:59:15Z");
  private static final List<String> HOURLY = List.of(
      "2019-11-15T09:39:15Z", "2019-11-15T10:49:15Z", "2019-11-15T10:59:15Z", "2019-11-15T11:39:15Z",
      "2019-11-15T11:49:15Z", "2019-11-15T11:59:15Z");

  @Test
  void keepLastOnPbsExamples() {
    assertThat(removed(SIMPLE, opts().last(4))).isEmpty();
    assertThat(removed(SIMPLE, opts().last(3))).containsExactly("2019-12-02T11:59:15Z");
    assertThat(removed(SIMPLE, opts().last(2))).containsExactly("2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z");
    assertThat(removed(SIMPLE, opts().last(1)))
        .containsExactly("2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z");
  }

  @Test
  void periodsOnPbsExamples() {
    assertThat(removed(SIMPLE, opts().last(2).daily(2))).isEmpty();
    assertThat(removed(SIMPLE, opts().daily(3))).containsExactly("2019-12-04T11:59:15Z");
    assertThat(removed(SIMPLE, opts().daily(2))).containsExactly("2019-12-02T11:59:15Z", "2019-12-04T11:59:15Z");
    List<String> allButNewest = List.of("2019-12-02T11:59:15Z", "2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z");
    // All four are in one ISO week, one month and one year: each of these keeps one point only.
    assertThat(removed(SIMPLE, opts().weekly(5))).isEqualTo(allButNewest);
    assertThat(removed(SIMPLE, opts().daily(1).weekly(5))).isEqualTo(allButNewest);
    assertThat(removed(SIMPLE, opts().monthly(6))).isEqualTo(allButNewest);
    assertThat(removed(SIMPLE, opts().yearly(7))).isEqualTo(allButNewest);
    assertThat(removed(SIMPLE, opts().weekly(5).monthly(6).yearly(7))).isEqualTo(allButNewest);
  }

  @Test
  void laterOptionsOnlyConsiderOlderPeriodsOnPbsExamples() {
    assertThat(kept(SIMPLE2, opts().daily(1))).containsExactly("2019-12-04T11:59:15Z");
    assertThat(kept(SIMPLE2, opts().last(1).daily(1))).containsExactly("2019-12-03T11:59:15Z", "2019-12-04T11:59:15Z");
    // 2019-12-04 (Wednesday) is the daily point; weekly skips its ISO week (Mon 12-02 .. Sun 12-08),
    // whose other points daily's walk did not reach, and keeps Sunday 2019-12-01 of the week before.
    assertThat(kept(SIMPLE2, opts().daily(1).weekly(1))).containsExactly("2019-12-01T11:59:15Z", "2019-12-04T11:59:15Z");
    // Monthly skips December (held by the daily point), and the weekly walk already marked the
    // other points of the week of 12-01 for removal, so November's newest is 11-22, not 11-29.
    assertThat(kept(SIMPLE2, opts().daily(1).weekly(1).monthly(1)))
        .containsExactly("2019-11-22T11:59:15Z", "2019-12-01T11:59:15Z", "2019-12-04T11:59:15Z");
    assertThat(kept(SIMPLE2, opts().monthly(1).yearly(1))).containsExactly("2018-11-15T11:59:15Z", "2019-12-04T11:59:15Z");
  }

  @Test
  void hourlyOnPbsExample() {
    assertThat(removed(HOURLY, opts().hourly(3)))
        .containsExactly("2019-11-15T10:49:15Z", "2019-11-15T11:39:15Z", "2019-11-15T11:49:15Z");
    assertThat(kept(HOURLY, opts().hourly(2))).containsExactly("2019-11-15T10:59:15Z", "2019-11-15T11:59:15Z");
  }

  @Test
  void weeksFollowIsoWeekYearsAcrossNewYear() {
    // Monday 2019-12-30 and Wednesday 2020-01-01 are both in ISO week 2020-W01; 2019-12-29 (Sunday)
    // closes 2019-W52.
    List<String> times = List.of("2019-12-29T10:00:00Z", "2019-12-30T10:00:00Z", "2020-01-01T10:00:00Z");
    assertThat(kept(times, opts().weekly(2))).containsExactly("2019-12-29T10:00:00Z", "2020-01-01T10:00:00Z");
    assertThat(kept(times, opts().yearly(2))).containsExactly("2019-12-30T10:00:00Z", "2020-01-01T10:00:00Z");
  }

  @Test
  void periodsAreThoseOfTheGivenTimeZone() {
    // 22:30Z and 23:30Z are one day in UTC, two days (23:30 on 1 March, 00:30 on 2 March) in UTC+1.
    List<String> times = List.of("2024-03-01T22:30:00Z", "2024-03-01T23:30:00Z");
    assertThat(kept(times, opts().daily(2))).hasSize(1);
    List<Decision> split = PrunePolicy.decide(candidates(times, Set.of()), opts().daily(2).build(),
        ZoneOffset.ofHours(1));
    assertThat(split).allMatch(Decision::keep);
  }

  @Test
  void protectedPointsAreKeptAndNotCounted() {
    List<Candidate> c = candidates(SIMPLE, Set.of("2019-12-04T12:59:15Z"));
    List<Decision> d = PrunePolicy.decide(c, opts().last(1).build(), UTC);
    assertThat(d).extracting(Decision::mark)
        .containsExactly(Mark.PROTECTED, Mark.KEEP, Mark.REMOVE, Mark.REMOVE);
  }

  @Test
  void noOptionKeepsEverything() {
    assertThat(removed(SIMPLE, opts())).isEmpty();
    assertThat(removed(SIMPLE, opts().last(0))).isEmpty();
  }

  @Test
  void keepWithinKeepsEverythingCloseToTheNewestInAddition() {
    List<Decision> d = PrunePolicy.decide(candidates(SIMPLE, Set.of()),
        new RetentionOptions(1, 0, 0, 0, 0, 0, Duration.ofHours(25)), UTC);
    assertThat(d).extracting(Decision::reason).containsExactly("last", "within", "within", "");
  }

  @Test
  void durationsParseAndPrint() {
    assertThat(Durations.parse("36h")).isEqualTo(Duration.ofHours(36));
    assertThat(Durations.parse("1y2m3d")).isEqualTo(Duration.ofDays(365 + 60 + 3));
    assertThat(Durations.parse("90min")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.format(Duration.ofDays(7))).isEqualTo("7d");
    assertThatThrownBy(() -> Durations.parse("7 days")).hasMessageContaining("bad duration: '7 days'");
    assertThatThrownBy(() -> Durations.parse("0d")).hasMessageContaining("bad duration");
    assertThatThrownBy(() -> new RetentionOptions(-1, 0, 0, 0, 0, 0, null)).hasMessageContaining("keep-last: -1");
  }

  /** Seeded random histories and options, against {@link #reference}; prints seed and case on failure. */
  @Test
  void matchesTheReferenceOnRandomHistories() {
    int cases = System.getenv("CI") != null ? 300 : 2_000;
    long seed = new Random().nextLong();
    Random rnd = new Random(seed);
    for (int i = 0; i < cases; i++) {
      int n = rnd.nextInt(60);
      Instant newest = Instant.parse("2026-01-01T00:00:00Z").plusSeconds(rnd.nextInt(86_400 * 365));
      long spread = switch (rnd.nextInt(4)) {
        case 0 -> 86_400L * 2;
        case 1 -> 86_400L * 60;
        case 2 -> 86_400L * 365 * 4;
        default -> 3_600L * 10;
      };
      List<Candidate> cands = new ArrayList<>();
      for (int k = 0; k < n; k++) {
        Instant t = newest.minusSeconds((long) (rnd.nextDouble() * spread));
        cands.add(new Candidate("p" + k, t, rnd.nextInt(10) == 0));
      }
      RetentionOptions o = new RetentionOptions(small(rnd), small(rnd), small(rnd), small(rnd), small(rnd),
          small(rnd), rnd.nextInt(5) == 0 ? Duration.ofHours(1 + rnd.nextInt(100)) : null);
      ZoneId zone = rnd.nextBoolean() ? UTC : ZoneId.of("Europe/Vienna");
      Map<String, Boolean> expected = reference(cands, o, zone);
      Map<String, Boolean> actual = new HashMap<>();
      for (Decision d : PrunePolicy.decide(cands, o, zone)) {
        actual.put(d.id(), d.keep());
      }
      assertThat(actual).as("seed %d case %d options %s zone %s points %s", seed, i, o, zone, cands)
          .isEqualTo(expected);
    }
  }

  private static int small(Random rnd) {
    return rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(6);
  }

  /**
   * The documentation's rules, restated period by period rather than as one walk: each option takes
   * the unmarked, unprotected points newest first, drops those whose period already has a kept
   * point, and of the rest takes the first N periods; it keeps each period's newest point and marks
   * the period's others removed. Leftovers are removed; protected and keep-within points stay.
   */
  static Map<String, Boolean> reference(List<Candidate> cands, RetentionOptions o, ZoneId zone) {
    Map<String, Boolean> result = new HashMap<>();
    if (!o.keepsSomething()) {
      cands.forEach(c -> result.put(c.id(), true));
      return result;
    }
    List<Candidate> newestFirst = new ArrayList<>(cands);
    newestFirst.sort(Comparator.comparing(Candidate::time).thenComparing(Candidate::id).reversed());
    Map<String, Boolean> marks = new HashMap<>();
    List<Function<Candidate, String>> periods = List.of(
        c -> c.id(),
        c -> c.time().atZone(zone).toLocalDate() + "T" + c.time().atZone(zone).getHour(),
        c -> c.time().atZone(zone).toLocalDate().toString(),
        c -> {
          ZonedDateTime t = c.time().atZone(zone);
          return t.get(IsoFields.WEEK_BASED_YEAR) + "W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
        },
        c -> c.time().atZone(zone).getYear() + "-" + c.time().atZone(zone).getMonthValue(),
        c -> "" + c.time().atZone(zone).getYear());
    int[] counts = {o.keepLast(), o.keepHourly(), o.keepDaily(), o.keepWeekly(), o.keepMonthly(), o.keepYearly()};
    for (int r = 0; r < 6; r++) {
      if (counts[r] == 0) {
        continue;
      }
      Function<Candidate, String> period = periods.get(r);
      Set<String> held = new HashSet<>();
      for (Candidate c : newestFirst) {
        if (Boolean.TRUE.equals(marks.get(c.id()))) {
          held.add(period.apply(c));
        }
      }
      LinkedHashMap<String, List<Candidate>> groups = new LinkedHashMap<>();
      for (Candidate c : newestFirst) {
        if (!marks.containsKey(c.id()) && !c.isProtected() && !held.contains(period.apply(c))) {
          groups.computeIfAbsent(period.apply(c), k -> new ArrayList<>()).add(c);
        }
      }
      int taken = 0;
      for (List<Candidate> g : groups.values()) {
        if (taken++ == counts[r]) {
          break;
        }
        for (int k = 0; k < g.size(); k++) {
          marks.put(g.get(k).id(), k == 0);
        }
      }
    }
    Instant within = o.keepWithin() == null || newestFirst.isEmpty() ? null
        : newestFirst.getFirst().time().minus(o.keepWithin());
    for (Candidate c : cands) {
      boolean keep = c.isProtected() || Boolean.TRUE.equals(marks.get(c.id()))
          || (within != null && !c.time().isBefore(within));
      result.put(c.id(), keep);
    }
    return result;
  }

  private static List<String> removed(List<String> times, Options o) {
    return select(times, o, false);
  }

  private static List<String> kept(List<String> times, Options o) {
    return select(times, o, true);
  }

  /** Returns the times (ids) kept or removed, oldest first, as PBS's tests list them. */
  private static List<String> select(List<String> times, Options o, boolean keep) {
    List<String> out = new ArrayList<>();
    for (Decision d : PrunePolicy.decide(candidates(times, Set.of()), o.build(), UTC).reversed()) {
      if (d.keep() == keep) {
        out.add(d.id());
      }
    }
    return out;
  }

  private static List<Candidate> candidates(List<String> times, Set<String> protectedOnes) {
    List<Candidate> c = new ArrayList<>();
    for (String t : times) {
      c.add(new Candidate(t, Instant.parse(t), protectedOnes.contains(t)));
    }
    return c;
  }

  private static Options opts() {
    return new Options();
  }

  /** A small builder so each example reads like PBS's options. */
  private static final class Options {
    private final int[] n = new int[6];

    Options last(int v) { n[0] = v; return this; }
    Options hourly(int v) { n[1] = v; return this; }
    Options daily(int v) { n[2] = v; return this; }
    Options weekly(int v) { n[3] = v; return this; }
    Options monthly(int v) { n[4] = v; return this; }
    Options yearly(int v) { n[5] = v; return this; }

    RetentionOptions build() {
      return new RetentionOptions(n[0], n[1], n[2], n[3], n[4], n[5], null);
    }
  }
}
