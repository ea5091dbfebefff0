package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vstore.blockstore.testing.ModelRun;
import java.security.MessageDigest;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * libcrypto's digests against the JDK's on the same bytes: seeded random updates (empty, single
 * bytes, odd offsets and lengths up to a few MiB), digests taken mid-way (which must start the
 * next one afresh), for every manifest algorithm. Skipped where libcrypto 3 is absent.
 */
final class NativeDigestTest {
  static LongStream seeds() {
    return ModelRun.seeds(20);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void agreesWithTheJdk(long seed) throws Exception {
    assumeTrue(NativeDigest.enabled(), "libcrypto.so.3 not found");
    ModelRun.run(seed, run -> {
      Random r = run.random();
      DigestAlgorithm alg = DigestAlgorithm.values()[r.nextInt(DigestAlgorithm.values().length)];
      String javaName = switch (alg) {
        case SHA1 -> "SHA-1";
        case SHA256 -> "SHA-256";
        case SHA512 -> "SHA-512";
      };
      MessageDigest model = MessageDigest.getInstance(javaName);
      MessageDigest real = NativeDigest.create(javaName);
      assertThat(real).isNotNull();
      assertThat(real.getDigestLength()).isEqualTo(model.getDigestLength());
      byte[] buffer = new byte[3 << 20];
      r.nextBytes(buffer);
      int steps = 1 + r.nextInt(60);
      for (int step = 0; step < steps; step++) {
        switch (r.nextInt(6)) {
          case 0 -> {
            byte b = (byte) r.nextInt();
            run.step(step, "update one byte " + b);
            model.update(b);
            real.update(b);
          }
          case 1 -> {
            run.step(step, "digest");
            assertThat(real.digest()).isEqualTo(model.digest());
          }
          default -> {
            int n = r.nextBoolean() ? r.nextInt(200) : r.nextInt(buffer.length);
            int off = r.nextInt(buffer.length - n + 1);
            run.step(step, "update " + n + " bytes at " + off);
            model.update(buffer, off, n);
            real.update(buffer, off, n);
          }
        }
      }
      run.step(steps, "final digest");
      assertThat(real.digest()).isEqualTo(model.digest());
    });
  }

  @Test
  void knownAnswer() {
    assumeTrue(NativeDigest.enabled(), "libcrypto.so.3 not found");
    byte[] abc = "abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    // FIPS 180-2, appendix B.1.
    assertThat(Manifest.hex(NativeDigest.create("SHA-256").digest(abc)))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  @Test
  void turnedOffByTheProperty() {
    String before = System.getProperty("vstore.digest.native");
    System.setProperty("vstore.digest.native", "false");
    try {
      assertThat(NativeDigest.create("SHA-256")).isNull();
      assertThat(DigestAlgorithm.SHA256.newDigest()).isNotInstanceOf(NativeDigest.class);
    } finally {
      if (before == null) {
        System.clearProperty("vstore.digest.native");
      } else {
        System.setProperty("vstore.digest.native", before);
      }
    }
  }
}
