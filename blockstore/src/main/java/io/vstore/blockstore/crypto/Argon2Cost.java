package io.vstore.blockstore.crypto;

import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * The cost parameters of Argon2id for a passphrase slot; recorded in the slot, so a slot always
 * opens with the parameters it was made with.
 *
 * @param memoryKiB memory in KiB
 * @param iterations passes over the memory
 * @param parallelism lanes
 */
public record Argon2Cost(int memoryKiB, int iterations, int parallelism) {
  /**
   * The cost of new passphrase slots: 32 MiB, 3 passes, 1 lane, about 0.4 s on the 2-core build
   * machine once the JIT has warmed up (Bouncy Castle computes lanes on one thread, so more lanes
   * would only cost time here).
   */
  public static final Argon2Cost DEFAULT = new Argon2Cost(32 << 10, 3, 1);
  /** The smallest cost accepted, for tests that create many slots; never a default. */
  public static final Argon2Cost MINIMAL = new Argon2Cost(64, 1, 1);
  /** Slots asking for more than 4 GiB are refused: a damaged or hostile file must not make us allocate it. */
  static final int MAX_MEMORY_KIB = 4 << 20;
  static final int MAX_ITERATIONS = 1 << 16;
  static final int MAX_PARALLELISM = 64;

  /** Checks the parameters against Argon2's rules and our bounds. */
  public Argon2Cost {
    if (parallelism < 1 || parallelism > MAX_PARALLELISM || iterations < 1 || iterations > MAX_ITERATIONS
        || memoryKiB < 8 * parallelism || memoryKiB > MAX_MEMORY_KIB) {
      throw new IllegalArgumentException("bad Argon2id cost: memory " + memoryKiB + " KiB, " + iterations
          + " iterations, parallelism " + parallelism);
    }
  }

  /** Derives a 256-bit key from {@code passphrase} and {@code salt}. */
  byte[] derive(byte[] passphrase, byte[] salt) {
    Argon2BytesGenerator generator = new Argon2BytesGenerator();
    generator.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id).withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withSalt(salt).withMemoryAsKB(memoryKiB).withIterations(iterations).withParallelism(parallelism).build());
    byte[] key = new byte[32];
    generator.generateBytes(passphrase, key);
    return key;
  }
}
