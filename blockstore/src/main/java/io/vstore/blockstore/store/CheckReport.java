package io.vstore.blockstore.store;

import java.util.List;

/**
 * What {@code datastore check} verified and found.
 *
 * @param volumes volumes checked
 * @param mapEntries map entries checked
 * @param records records checked, each read whole and its checksums verified
 * @param segments segment files checked
 * @param bytesVerified stored bytes whose checksums were verified
 * @param problems each broken invariant, naming the volume, block, record or segment
 */
public record CheckReport(int volumes, long mapEntries, long records, int segments, long bytesVerified,
    List<String> problems) {
  public CheckReport {
    problems = List.copyOf(problems);
  }

  /** Returns whether no invariant is broken. */
  public boolean clean() {
    return problems.isEmpty();
  }
}
