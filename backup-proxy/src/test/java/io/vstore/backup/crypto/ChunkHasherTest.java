package io.vstore.backup.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Hashers share their key's Macs across instances (a daemon opens a repository per job): whatever
 * the interleaving of keys and threads, and after the process-wide pools were dropped for holding
 * too many keys, every id is the HMAC-SHA256 of the data under the hasher's own key.
 */
final class ChunkHasherTest {
  @Test
  void everyIdIsTheHmacUnderItsOwnKeyWhateverTheSharing() throws Exception {
    long seed = new Random().nextLong();
    try {
      run(seed);
    } catch (Throwable t) {
      throw new AssertionError("seed " + seed + ": " + t.getMessage(), t);
    }
  }

  private static void run(long seed) throws Exception {
    Random r = new Random(seed);
    int keyCount = ChunkHasher.MAX_KEYS + 8; // crosses the bound: pools dropped while hashers still use theirs
    List<byte[]> keys = new ArrayList<>();
    List<ChunkHasher> hashers = new ArrayList<>();
    for (int k = 0; k < keyCount; k++) {
      byte[] key = new byte[32];
      r.nextBytes(key);
      if (k % 5 == 4) {
        key = keys.get(r.nextInt(keys.size())).clone(); // another repository object of a key seen before
      }
      keys.add(key);
      hashers.add(new ChunkHasher(key));
    }
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<?>> done = new ArrayList<>();
      for (int task = 0; task < 8; task++) {
        long taskSeed = r.nextLong();
        done.add(pool.submit(() -> {
          Random tr = new Random(taskSeed);
          for (int step = 0; step < 300; step++) {
            int k = tr.nextInt(keyCount);
            byte[] data = new byte[1 + tr.nextInt(4096)];
            tr.nextBytes(data);
            byte[] expected = hmac(keys.get(k), data);
            byte[] actual = tr.nextBoolean() ? hashers.get(k).hash(ByteBuffer.wrap(data))
                : hashers.get(k).hash(data, 0, data.length);
            assertThat(actual).as("task seed %d step %d key %d", taskSeed, step, k).isEqualTo(expected);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    }
  }

  private static byte[] hmac(byte[] key, byte[] data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(data);
  }
}
