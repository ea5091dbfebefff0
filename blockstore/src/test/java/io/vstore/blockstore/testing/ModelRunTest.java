package io.vstore.blockstore.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.Test;

final class ModelRunTest {
  @Test
  void seedsDefaultToTheTestsCountOfDistinctSeeds() {
    long[] seeds = ModelRun.seeds(30, null, null).toArray();
    assertThat(seeds).hasSize(30).doesNotHaveDuplicates();
    assertThat(ModelRun.seeds(30, "", " ").toArray()).isEqualTo(seeds);
    assertThat(ModelRun.seeds(30, null, null).toArray()).as("the same every run").isEqualTo(seeds);
  }

  @Test
  void casesSetsTheCountAndKeepsTheDefaultSeedsFirst() {
    long[] more = ModelRun.seeds(3, null, "50").toArray();
    assertThat(more).hasSize(50).startsWith(ModelRun.seeds(3, null, null).toArray());
  }

  @Test
  void theDefaultSeedsDrawDifferentFirstValues() {
    // Seeds 0..11 would all draw the same first nextInt(4) from java.util.Random.
    assertThat(ModelRun.seeds(12, null, null).map(s -> new Random(s).nextInt(4)).distinct().count()).isEqualTo(4);
  }

  @Test
  void seedReplaysOnlyThatSeed() {
    assertThat(ModelRun.seeds(3, "-77", "5")).containsExactly(-77L);
  }

  @Test
  void badPropertiesAreRefusedWithTheValue() {
    assertThatThrownBy(() -> ModelRun.seeds(3, "x1", null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("vstore.seed").hasMessageContaining("x1");
    assertThatThrownBy(() -> ModelRun.seeds(3, null, "0")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("vstore.cases").hasMessageContaining("0");
  }

  @Test
  void theRandomIsSeeded() {
    long[] drawn = new long[1];
    ModelRun.run(42, run -> drawn[0] = run.random().nextLong());
    assertThat(drawn[0]).isEqualTo(new Random(42).nextLong());
  }

  @Test
  void aFailureNamesTheSeedTheStepAndItsOp() {
    IOException cause = new IOException("disk on fire");
    assertThatThrownBy(() -> ModelRun.run(7, run -> {
      run.context("cluster 512");
      run.step(0, "write");
      run.step(3, "discard 10 at 20");
      throw cause;
    })).isInstanceOf(AssertionError.class).hasCause(cause)
        .hasMessageStartingWith("seed 7 (cluster 512), step 3: discard 10 at 20 (replay with -Dvstore.seed=7)")
        .hasMessageContaining("disk on fire");
  }

  @Test
  void aFailureAfterTheStepsSaysSo() {
    assertThatThrownBy(() -> ModelRun.run(-1, run -> {
      run.step(9, "flush");
      run.finish("final checks");
      throw new AssertionError("differs");
    })).isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("seed -1, final checks after step 9 (replay with -Dvstore.seed=-1)");
  }
}
