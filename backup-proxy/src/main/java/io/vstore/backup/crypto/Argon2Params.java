package io.vstore.backup.crypto;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * The cost of Argon2id passphrase stretching, stored with each passphrase key so that it can be
 * raised for new keys without breaking old ones.
 *
 * @param memoryKiB memory per derivation in KiB
 * @param iterations passes over that memory
 * @param parallelism lanes
 */
public record Argon2Params(int memoryKiB, int iterations, int parallelism) {
  /**
   * The default for new keys: 32 MiB, 2 passes, 1 lane (above OWASP's 19 MiB/2 floor). Bouncy
   * Castle's pure-Java Argon2 took 0.55 s for it on the 2-core build machine while shared (load
   * 16), 64 MiB/3 passes took 4 s there; costly enough to slow guessing, cheap enough for every
   * {@code open}. Stored per key, so raising it later breaks no existing key.
   */
  public static final Argon2Params DEFAULT = new Argon2Params(32 * 1024, 2, 1);
  /** Cheap parameters for tests only: never use them for a real repository. */
  public static final Argon2Params TESTING = new Argon2Params(64, 1, 1);

  /** Largest memory cost accepted from a key object (4 GiB): bounds what a hostile key can make us allocate. */
  public static final int MAX_MEMORY_KIB = 4 * 1024 * 1024;
  /** Largest iteration count accepted from a key object. */
  public static final int MAX_ITERATIONS = 64;

  public Argon2Params {
    if (memoryKiB < 8 * parallelism || memoryKiB > MAX_MEMORY_KIB) {
      throw new IllegalArgumentException("Argon2 memory " + memoryKiB + " KiB out of range 8*lanes.." + MAX_MEMORY_KIB);
    }
    if (iterations < 1 || iterations > MAX_ITERATIONS) {
      throw new IllegalArgumentException("Argon2 iterations " + iterations + " out of range 1.." + MAX_ITERATIONS);
    }
    if (parallelism < 1 || parallelism > 16) {
      throw new IllegalArgumentException("Argon2 parallelism " + parallelism + " out of range 1..16");
    }
  }

  /** Returns the 32-byte key derived from {@code passphrase} (UTF-8) and {@code salt}. */
  public byte[] derive(char[] passphrase, byte[] salt) {
    Argon2BytesGenerator gen = new Argon2BytesGenerator();
    gen.init(new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
        .withVersion(Argon2Parameters.ARGON2_VERSION_13)
        .withSalt(salt)
        .withMemoryAsKB(memoryKiB)
        .withIterations(iterations)
        .withParallelism(parallelism)
        .build());
    java.nio.ByteBuffer encoded = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(passphrase));
    byte[] pw = new byte[encoded.remaining()];
    encoded.get(pw);
    if (encoded.hasArray()) {
      Arrays.fill(encoded.array(), (byte) 0);
    }
    byte[] out = new byte[32];
    gen.generateBytes(pw, out);
    Arrays.fill(pw, (byte) 0);
    return out;
  }
}
