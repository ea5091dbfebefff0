package io.vstore.blockstore.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Opening many parts at once, on every core: the same results as one by one, and a damaged part found. */
final class PartBatchTest {
  private final RecordSealer sealer = new RecordSealer(new SecretKeySpec(new byte[32], "AES"));

  /** A sealed record of {@code parts} parts laid out back to back in one buffer, with its plaintext. */
  private record Sealed(ByteBuffer buffer, byte[] plain, int[] offsets, int[] lengths, byte[] nonce, byte[] tags) {}

  private Sealed seal(Random r, int parts, boolean direct) {
    int[] lengths = new int[parts];
    int[] offsets = new int[parts];
    int total = 0;
    for (int i = 0; i < parts; i++) {
      lengths[i] = r.nextInt(4) == 0 ? 1 + r.nextInt(9000) : 4096;
      offsets[i] = total;
      total += lengths[i];
    }
    byte[] plain = new byte[total];
    r.nextBytes(plain);
    ByteBuffer buffer = direct ? ByteBuffer.allocateDirect(total) : ByteBuffer.allocate(total);
    buffer.put(0, plain);
    byte[] nonce = new byte[RecordSealer.NONCE_BYTES];
    sealer.reserve(parts, nonce, 0);
    byte[] tags = new byte[RecordSealer.TAG_BYTES * parts];
    for (int i = 0; i < parts; i++) {
      ByteBuffer part = buffer.duplicate().limit(offsets[i] + lengths[i]).position(offsets[i]);
      sealer.seal(part, part.duplicate(), nonce, 0, i, 9, 1000 + i, 5, tags, RecordSealer.TAG_BYTES * i);
    }
    return new Sealed(buffer, plain, offsets, lengths, nonce, tags);
  }

  private PartBatch batchOf(Sealed s) {
    PartBatch batch = new PartBatch(sealer, s.lengths().length);
    for (int i = 0; i < s.lengths().length; i++) {
      batch.add(s.buffer(), s.offsets()[i], s.lengths()[i], s.nonce(), i, 9, 1000 + i, 5, s.tags(), "record", 1000 + i);
    }
    return batch;
  }

  private static byte[] contents(ByteBuffer b) {
    byte[] out = new byte[b.capacity()];
    b.get(0, out);
    return out;
  }

  @Test
  void aBatchOpensEveryPartAsOneByOneWouldInHeapAndDirectBuffers() {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    for (int round = 0; round < 20; round++) {
      int parts = 1 + r.nextInt(300); // below and above the parallel threshold
      Sealed s = seal(r, parts, r.nextBoolean());
      PartBatch batch = batchOf(s);
      assertThat(batch.size()).isEqualTo(parts);
      assertThat(batch.openAll()).as("seed %d round %d", seed, round).isEqualTo(-1);
      assertThat(contents(s.buffer())).as("seed %d round %d", seed, round).isEqualTo(s.plain());
    }
  }

  @Test
  void aDamagedPartOrTagOrWrongIdentityIsFoundAndTheFirstReported() {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    for (int round = 0; round < 20; round++) {
      int parts = PartBatch.PARALLEL_PARTS + r.nextInt(200);
      Sealed s = seal(r, parts, r.nextBoolean());
      int bad = r.nextInt(parts);
      int worse = bad + 1 < parts && r.nextBoolean() ? bad + 1 + r.nextInt(parts - bad - 1) : bad; // a later one too, or not
      for (int victim : bad == worse ? new int[] {bad} : new int[] {bad, worse}) {
        if (r.nextBoolean()) {
          int at = s.offsets()[victim] + r.nextInt(s.lengths()[victim]);
          s.buffer().put(at, (byte) (s.buffer().get(at) ^ (1 << r.nextInt(8))));
        } else {
          int at = RecordSealer.TAG_BYTES * victim + r.nextInt(RecordSealer.TAG_BYTES);
          s.tags()[at] ^= (byte) (1 << r.nextInt(8));
        }
      }
      PartBatch batch = batchOf(s);
      assertThat(batch.openAll()).as("seed %d round %d", seed, round).isEqualTo(bad);
      assertThat(batch.context(bad)).isEqualTo("record");
      assertThat(batch.label(bad)).isEqualTo(1000 + bad);
      byte[] got = contents(s.buffer());
      for (int i = 0; i < parts; i++) {
        byte[] part = java.util.Arrays.copyOfRange(got, s.offsets()[i], s.offsets()[i] + s.lengths()[i]);
        if (i == bad || i == worse) {
          assertThat(part).as("seed %d round %d: a failed part is cleared", seed, round)
              .isEqualTo(new byte[s.lengths()[i]]);
        } else {
          assertThat(part).as("seed %d round %d part %d", seed, round, i)
              .isEqualTo(java.util.Arrays.copyOfRange(s.plain(), s.offsets()[i], s.offsets()[i] + s.lengths()[i]));
        }
      }
    }
    // the identity is bound too: the same parts added under another volume all fail
    Sealed s = seal(r, 40, true);
    PartBatch batch = new PartBatch(sealer, 40);
    for (int i = 0; i < 40; i++) {
      batch.add(s.buffer(), s.offsets()[i], s.lengths()[i], s.nonce(), i, 10, 1000 + i, 5, s.tags(), "record", i);
    }
    assertThat(batch.openAll()).isZero();
  }

  @Test
  void partsAddedWhileHelpersOpenTheEarlierOnesAllOpen() throws Exception {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    for (int round = 0; round < 10; round++) {
      int parts = PartBatch.PARALLEL_PARTS + r.nextInt(200);
      Sealed s = seal(r, parts, r.nextBoolean());
      PartBatch batch = new PartBatch(sealer, parts);
      for (int i = 0; i < parts; i++) {
        batch.add(s.buffer(), s.offsets()[i], s.lengths()[i], s.nonce(), i, 9, 1000 + i, 5, s.tags(), "record", i);
        if (r.nextInt(20) == 0) {
          Thread.sleep(1); // a slow file read: helpers wait for more, then go on
        }
      }
      assertThat(batch.openAll()).as("seed %d round %d", seed, round).isEqualTo(-1);
      assertThat(contents(s.buffer())).as("seed %d round %d", seed, round).isEqualTo(s.plain());
      batch.abandon(); // after opening: nothing to do
    }
  }

  @Test
  void anAbandonedBatchIsLeftAloneOnceAbandonReturns() throws Exception {
    long seed = new Random().nextLong();
    Random r = new Random(seed);
    for (int round = 0; round < 10; round++) {
      int parts = 2 * PartBatch.PARALLEL_PARTS + r.nextInt(200);
      Sealed s = seal(r, parts, r.nextBoolean());
      PartBatch batch = new PartBatch(sealer, parts);
      int added = PartBatch.PARALLEL_PARTS + r.nextInt(parts - PartBatch.PARALLEL_PARTS);
      for (int i = 0; i < added; i++) {
        batch.add(s.buffer(), s.offsets()[i], s.lengths()[i], s.nonce(), i, 9, 1000 + i, 5, s.tags(), "record", i);
      }
      if (r.nextBoolean()) {
        Thread.sleep(r.nextInt(3));
      }
      batch.abandon(); // the read failed
      byte[] after = contents(s.buffer());
      Thread.sleep(5);
      assertThat(contents(s.buffer())).as("seed %d round %d: no helper writes after abandon", seed, round)
          .isEqualTo(after);
      for (int i = added; i < parts; i++) {
        if (s.lengths()[i] < 16) {
          continue; // a short ciphertext may equal its plaintext by chance
        }
        assertThat(java.util.Arrays.copyOfRange(after, s.offsets()[i], s.offsets()[i] + s.lengths()[i]))
            .as("seed %d round %d: part %d was never added", seed, round, i).isNotEqualTo(
                java.util.Arrays.copyOfRange(s.plain(), s.offsets()[i], s.offsets()[i] + s.lengths()[i]));
      }
    }
  }

  @Test
  void batchesOpenedFromManyThreadsAtOnceAllOpen() throws Exception {
    long seed = new Random().nextLong();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        long mine = seed + t;
        done.add(pool.submit(() -> {
          Random r = new Random(mine);
          for (int round = 0; round < 30; round++) {
            Sealed s = seal(r, PartBatch.PARALLEL_PARTS + r.nextInt(100), r.nextBoolean());
            assertThat(batchOf(s).openAll()).as("seed %d round %d", mine, round).isEqualTo(-1);
            assertThat(contents(s.buffer())).as("seed %d round %d", mine, round).isEqualTo(s.plain());
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
