package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.ModelRun;
import java.security.MessageDigest;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The manifest digest computed on another thread against {@link MessageDigest} on the same bytes:
 * seeded random sequences of updates (empty, tiny, straddling and exceeding blocks, more bytes in
 * all than the blocks can hold, so the reader waits for the digest), with the caller reusing its
 * buffer after every update as a reading thread does.
 */
final class BackgroundDigestTest {
  static LongStream seeds() {
    return ModelRun.seeds(20);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void digestsWhatItIsGivenInOrder(long seed) {
    ModelRun.run(seed, run -> {
      Random r = run.random();
      DigestAlgorithm alg = DigestAlgorithm.values()[r.nextInt(DigestAlgorithm.values().length)];
      MessageDigest model = alg.newDigest();
      BackgroundDigest background = new BackgroundDigest(alg.newDigest());
      long total = (long) r.nextInt(BackgroundDigest.BLOCK * (BackgroundDigest.BLOCKS + 3));
      byte[] buffer = new byte[3 * BackgroundDigest.BLOCK / 2];
      int step = 0;
      for (long given = 0; given < total; step++) {
        int n = switch (r.nextInt(4)) {
          case 0 -> 0;
          case 1 -> 1 + r.nextInt(16);
          case 2 -> r.nextInt(64 * 1024);
          default -> r.nextInt(buffer.length);
        };
        n = (int) Math.min(n, total - given);
        int off = r.nextInt(buffer.length - n + 1);
        run.step(step, "update " + n + " bytes at " + off);
        for (int i = off; i < off + n; i++) {
          buffer[i] = (byte) r.nextInt();
        }
        model.update(buffer, off, n);
        background.update(buffer, off, n);
        // The caller reuses its buffer at once: the digest must have copied what it needs.
        java.util.Arrays.fill(buffer, off, off + n, (byte) step);
        given += n;
      }
      run.step(step, "finish after " + total + " bytes");
      assertThat(background.finish()).isEqualTo(model.digest());
    });
  }
}
