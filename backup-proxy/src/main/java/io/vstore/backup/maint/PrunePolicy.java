package io.vstore.backup.maint;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Decides which points of one source a prune keeps: a pure function with Proxmox Backup Server's
 * semantics, plus {@code keep-within}.
 *
 * <p>The options are applied in the order last, hourly, daily, weekly, monthly, yearly, each
 * walking the points newest first. An option keeps the newest point of each of its periods (an
 * hour, a day, an ISO week Monday to Sunday, a month, a year of the given time zone) until it has
 * kept its count of periods; the other points of a period it kept are marked for removal there and
 * then, so a later option never considers them. Periods that an earlier option already holds a
 * kept point in are skipped without counting. Protected points are kept, never counted and never
 * removed. {@code keep-within} is not a PBS option: it keeps, in addition, every point whose time is
 * within that duration of the source's newest point (restic's meaning). Options that keep nothing
 * keep everything, as in PBS.
 */
public final class PrunePolicy {

  /** Why a point is kept or removed. */
  public enum Mark {
    /** Kept by a retention option ({@link Decision#reason()} says which). */
    KEEP,
    /** Kept because it is protected. */
    PROTECTED,
    /** Not kept by any option: the prune removes it. */
    REMOVE
  }

  /** One point as the policy sees it. */
  public record Candidate(String id, Instant time, boolean isProtected) {
    public Candidate {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(time, "time");
    }
  }

  /** The decision for one point; {@code reason} names the option that kept it ("last", "daily", ...). */
  public record Decision(String id, Instant time, Mark mark, String reason) {
    /** Returns whether the point stays. */
    public boolean keep() {
      return mark != Mark.REMOVE;
    }
  }

  private PrunePolicy() {}

  /**
   * Returns one decision per candidate, newest first (equal times ordered by id, descending).
   *
   * @param zone the time zone whose hours, days, weeks, months and years make the periods
   */
  public static List<Decision> decide(List<Candidate> candidates, RetentionOptions options, ZoneId zone) {
    List<Candidate> list = new ArrayList<>(candidates);
    list.sort(Comparator.comparing(Candidate::time).thenComparing(Candidate::id).reversed());
    Set<String> ids = new HashSet<>();
    for (Candidate c : list) {
      if (!ids.add(c.id())) {
        throw new IllegalArgumentException("point " + c.id() + " given twice");
      }
    }
    Map<String, Decision> marks = new HashMap<>();
    if (!options.keepsSomething()) {
      List<Decision> all = new ArrayList<>(list.size());
      for (Candidate c : list) {
        all.add(new Decision(c.id(), c.time(), c.isProtected() ? Mark.PROTECTED : Mark.KEEP, "no keep option"));
      }
      return all;
    }
    select(marks, list, options.keepLast(), "last", c -> c.id());
    select(marks, list, options.keepHourly(), "hourly", c -> {
      ZonedDateTime t = c.time().atZone(zone);
      return t.getYear() + "/" + t.getDayOfYear() + "/" + t.getHour();
    });
    select(marks, list, options.keepDaily(), "daily", c -> {
      ZonedDateTime t = c.time().atZone(zone);
      return t.getYear() + "/" + t.getDayOfYear();
    });
    select(marks, list, options.keepWeekly(), "weekly", c -> {
      // ISO week-based year: the last days of December can belong to week 1 of the next year.
      ZonedDateTime t = c.time().atZone(zone);
      return t.get(IsoFields.WEEK_BASED_YEAR) + "/" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR);
    });
    select(marks, list, options.keepMonthly(), "monthly", c -> {
      ZonedDateTime t = c.time().atZone(zone);
      return t.getYear() + "/" + t.getMonthValue();
    });
    select(marks, list, options.keepYearly(), "yearly", c -> Integer.toString(c.time().atZone(zone).getYear()));

    Instant withinFrom = options.keepWithin() == null || list.isEmpty()
        ? null : list.getFirst().time().minus(options.keepWithin());
    List<Decision> out = new ArrayList<>(list.size());
    for (Candidate c : list) {
      Decision d = marks.get(c.id());
      if (c.isProtected()) {
        d = new Decision(c.id(), c.time(), Mark.PROTECTED, "protected");
      } else if ((d == null || d.mark() == Mark.REMOVE) && withinFrom != null && !c.time().isBefore(withinFrom)) {
        d = new Decision(c.id(), c.time(), Mark.KEEP, "within");
      } else if (d == null) {
        d = new Decision(c.id(), c.time(), Mark.REMOVE, "");
      }
      out.add(d);
    }
    return out;
  }

  /** Applies one option: see the class comment. {@code list} is newest first. */
  private static void select(Map<String, Decision> marks, List<Candidate> list, int keep, String reason,
      Function<Candidate, String> period) {
    if (keep <= 0) {
      return;
    }
    Set<String> alreadyKept = new HashSet<>();
    for (Candidate c : list) {
      Decision d = marks.get(c.id());
      if (d != null && d.mark() == Mark.KEEP) {
        alreadyKept.add(period.apply(c));
      }
    }
    Set<String> kept = new HashSet<>();
    for (Candidate c : list) {
      if (marks.containsKey(c.id())) {
        continue;
      }
      if (c.isProtected()) {
        marks.put(c.id(), new Decision(c.id(), c.time(), Mark.PROTECTED, "protected"));
        continue;
      }
      String p = period.apply(c);
      if (alreadyKept.contains(p)) {
        continue;
      }
      if (!kept.contains(p)) {
        if (kept.size() >= keep) {
          break;
        }
        kept.add(p);
        marks.put(c.id(), new Decision(c.id(), c.time(), Mark.KEEP, reason));
      } else {
        marks.put(c.id(), new Decision(c.id(), c.time(), Mark.REMOVE, ""));
      }
    }
  }
}
