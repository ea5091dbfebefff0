package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** When the background cleaner lets busy volumes go first, and when it cleans anyway. */
class CleanerYieldTest {
  private static final Duration ROUND = Duration.ofSeconds(30);
  private static final long GIB = 1L << 30;
  private static final long BUSY = SegmentCleaner.BUSY_OPS_PER_SECOND * 30 + 1;

  @Test
  void aBusyDatastoreWithBoundedDeadSpaceIsLeftAlone() {
    assertThat(SegmentCleaner.yields(BUSY, ROUND, 3 * GIB, GIB, false)).isTrue(); // dead = 2 x live
    assertThat(SegmentCleaner.yields(BUSY, ROUND, GIB, GIB / 4, false)).isTrue(); // dead under the 1 GiB floor
  }

  @Test
  void aQuietDatastoreIsCleaned() {
    assertThat(SegmentCleaner.yields(BUSY - 1, ROUND, 3 * GIB, GIB, false)).isFalse();
    assertThat(SegmentCleaner.yields(0, ROUND, 3 * GIB, GIB, false)).isFalse();
  }

  @Test
  void tooMuchDeadSpaceOrAnAlarmCleansEvenWhileBusy() {
    assertThat(SegmentCleaner.yields(BUSY, ROUND, 3 * GIB + 1, GIB, false)).isFalse();
    assertThat(SegmentCleaner.yields(BUSY, ROUND, 2 * GIB, GIB / 4, false)).isFalse();
    assertThat(SegmentCleaner.yields(BUSY, ROUND, 3 * GIB, GIB, true)).isFalse();
  }
}
