package io.vstore.offline;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What may be done with an offline copy: check out, check in, roll back; at most how many days it
 * may run without contacting the server (0: no limit); an absolute expiry (null: none); how often
 * it should replicate its changes ({@code checkin --keep-checked-out}; 0: not asked); which disks
 * are included (null: all). A VM's or pool's policy is combined with the global one by
 * {@link #stricter}, so it can only ever narrow it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Policy(boolean mayCheckOut, boolean mayCheckIn, boolean mayRollBack, int maxDaysOffline,
    String expires, int replicationIntervalHours, List<Integer> disks) {
  /** The global policy when none is configured: everything allowed, 30 days without contact. */
  public static final Policy DEFAULT = new Policy(true, true, true, 30, null, 0, null);

  /** Checks the values. */
  public Policy {
    if (maxDaysOffline < 0 || replicationIntervalHours < 0) {
      throw new IllegalArgumentException("policy limits cannot be negative (maxDaysOffline " + maxDaysOffline
          + ", replicationIntervalHours " + replicationIntervalHours + ")");
    }
    if (expires != null) {
      Instant.parse(expires); // a malformed time is refused here, not when the copy runs
    }
    disks = disks == null ? null : List.copyOf(disks);
  }

  /** Returns the policy that allows only what both this one and {@code other} allow. */
  public Policy stricter(Policy other) {
    if (other == null) {
      return this;
    }
    String exp = expires == null ? other.expires : other.expires == null ? expires
        : Instant.parse(expires).isBefore(Instant.parse(other.expires)) ? expires : other.expires;
    List<Integer> d;
    if (disks == null) {
      d = other.disks;
    } else if (other.disks == null) {
      d = disks;
    } else {
      d = new ArrayList<>(disks);
      d.retainAll(other.disks);
    }
    return new Policy(mayCheckOut && other.mayCheckOut, mayCheckIn && other.mayCheckIn,
        mayRollBack && other.mayRollBack, minPositive(maxDaysOffline, other.maxDaysOffline), exp,
        minPositive(replicationIntervalHours, other.replicationIntervalHours), d);
  }

  /** Returns whether disk {@code index} is part of a check-out. */
  public boolean includesDisk(int index) {
    return disks == null || disks.contains(index);
  }

  private static int minPositive(int a, int b) {
    if (a == 0) {
      return b;
    }
    return b == 0 ? a : Math.min(a, b);
  }
}
