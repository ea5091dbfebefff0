package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** When the metadata cache lets a miss load its page, and when the miss reads the rows instead. */
class MetadataCacheTest {
  private static final int TRIES = 4_000;

  @Test
  void underBudgetAndNotWarmingEveryMissLoadsItsPage() {
    MetadataCache cache = new MetadataCache(1 << 20);
    assertThat(admitted(cache)).isEqualTo(TRIES);
  }

  @Test
  void whileAWarmerRunsFewMissesLoadTheirPage() {
    MetadataCache cache = new MetadataCache(1 << 20);
    cache.warmerStarted();
    cache.warmerStarted();
    cache.warmerEnded();
    // One in 16 on average (250 of 4,000); the bounds are many standard deviations (15) away.
    assertThat(admitted(cache)).isBetween(100, 400);
    cache.warmerEnded();
    assertThat(admitted(cache)).as("once every warmer ended").isEqualTo(TRIES);
  }

  private static int admitted(MetadataCache cache) {
    return (int) IntStream.range(0, TRIES).filter(i -> cache.admits()).count();
  }
}
