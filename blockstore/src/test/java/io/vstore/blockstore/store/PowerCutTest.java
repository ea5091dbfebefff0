package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts at random points of random workloads: after reopening, every block flushed before the
 * cut reads back, every other block holds its flushed content or one it was given later (never
 * garbage), and {@code datastore check} is clean.
 */
@Tag("slow")
final class PowerCutTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 8L << 20;
  @TempDir Path tmp;

  @Test
  void unflushedWritesMayBeLostButNothingElse() throws IOException {
    Workloads.eachSeed("power-cut", 0x5eed0000L, Workloads.iterations(60, 25),
        tmp, "ds", this::runOnce);
  }

  @Test
  void onAnEncryptedDatastoreToo() throws IOException {
    encrypted = true;
    Workloads.eachSeed("power-cut-encrypted", 0x5eed8000L, Workloads.iterations(20, 8), tmp, "ds", this::runOnce);
  }

  @Test
  void withAMetadataBudgetSoSmallEveryAccessMisses() throws IOException {
    // One byte: every page loaded is evicted by the next, most misses read the rows directly.
    metadataBudget = 1;
    Workloads.eachSeed("power-cut-tiny-cache", 0x5eedc000L, Workloads.iterations(20, 8), tmp, "ds", this::runOnce);
  }

  /** Whether the datastore is encrypted: sealed records must survive power cuts alike. */
  private boolean encrypted;
  /** The metadata cache budget, before and after the cut. */
  private long metadataBudget = DatastoreOptions.DEFAULT_METADATA_CACHE;

  private void runOnce(long seed, Path dir) throws IOException {
    Random r = new Random(seed);
    io.vstore.blockstore.crypto.KeySource keys = encrypted ? EncryptedDatastoreTest.passphrase("cut") : null;
    PowerCutChannels power = new PowerCutChannels(seed);
    DatastoreOptions faulty = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withFlushThreshold(20 + r.nextInt(2000)).withChannels(power::open).withKeys(keys)
        .withMetadataCache(metadataBudget);
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    MemoryBlockDevice flushed = model.snapshot("flushed");
    Map<Long, List<byte[]>> later = new HashMap<>();
    Datastore ds = Datastore.create(dir, faulty, 0, encrypted);
    Volume v = ds.createVolume("v", SIZE);
    if (r.nextBoolean()) {
      power.failForceAfter(1 + r.nextInt(30));
    }
    int steps = r.nextInt(150);
    try {
      for (int step = 0; step < steps; step++) {
        int op = r.nextInt(12);
        if (op < 7) {
          int n = r.nextBoolean() ? BLOCK * (1 + r.nextInt(80)) : 1 + r.nextInt(300_000);
          long off = r.nextBoolean() ? BLOCK * (long) r.nextInt((int) ((SIZE - n) / BLOCK)) : (long) r.nextInt((int) (SIZE - n));
          ByteBuffer data = Workloads.data(r, n);
          model.write(off, data.duplicate());
          remember(model, later, off, n);
          v.write(off, data);
        } else if (op < 9) {
          long n = 1 + r.nextInt(400_000);
          long off = (long) r.nextInt((int) (SIZE - n));
          model.writeZeroes(off, n, true);
          remember(model, later, off, n);
          if (op == 7) {
            v.discard(off, n);
          } else {
            v.writeZeroes(off, n, r.nextBoolean());
          }
        } else if (op < 11) {
          v.flush();
          flushed = model.snapshot("flushed");
          later.clear();
        } else {
          ds.clean();
          flushed = model.snapshot("flushed");
          later.clear();
        }
      }
    } catch (IOException injected) {
      assertThat(injected).hasMessageContaining("injected failure");
    }
    power.cut();
    ds.abandon();

    try (Datastore again = Datastore.open(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO)
        .withKeys(keys).withMetadataCache(metadataBudget))) {
      CheckReport report = again.check();
      assertThat(report.problems()).as("check after power cut").isEmpty();
      Volume back = again.volume("v");
      for (long block = 0; block < SIZE / BLOCK; block++) {
        byte[] actual = read(back, block);
        byte[] expected = read(flushed, block);
        if (Arrays.equals(actual, expected)) {
          continue;
        }
        List<byte[]> allowed = later.getOrDefault(block, List.of());
        assertThat(allowed.stream().anyMatch(a -> Arrays.equals(a, actual)))
            .as("block %d holds neither its flushed content nor any later one", block).isTrue();
      }
      // The datastore stays usable after recovery.
      ByteBuffer more = Workloads.data(r, 64 * BLOCK);
      back.write(0, more.duplicate());
      back.flush();
      byte[] got = new byte[64 * BLOCK];
      back.read(0, ByteBuffer.wrap(got));
      assertThat(got).isEqualTo(more.array());
      assertThat(again.check().problems()).isEmpty();
    }
  }

  private static void remember(MemoryBlockDevice model, Map<Long, List<byte[]>> later, long off, long n) {
    for (long block = off / BLOCK; block <= (off + n - 1) / BLOCK; block++) {
      later.computeIfAbsent(block, b -> new ArrayList<>()).add(read(model, block));
    }
  }

  private static byte[] read(io.vstore.blockstore.BlockDevice d, long block) {
    byte[] b = new byte[BLOCK];
    try {
      d.read(block * BLOCK, ByteBuffer.wrap(b));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return b;
  }
}
