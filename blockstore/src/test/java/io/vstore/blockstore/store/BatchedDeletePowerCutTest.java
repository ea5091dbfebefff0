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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts around batched volume deletions (the disk fails an fsync partway through a sequence
 * of writes and {@link Datastore#deleteVolumes} calls, then the power goes). After reopening,
 * datastore check is clean; every batch that returned is wholly gone; the interrupted batch is
 * wholly there or wholly gone; every other volume is there with its content.
 */
@Tag("slow")
final class BatchedDeletePowerCutTest {
  private static final long SIZE = 1L << 20;
  @TempDir Path tmp;

  @Test
  void anInterruptedBatchedDeleteLeavesAllOrNoneOfItsVolumes() throws IOException {
    Workloads.eachSeed("batched-delete power-cut", 0x5d1e0000L, Workloads.iterations(20, 8),
        tmp, "ds", this::runOnce);
  }

  private void runOnce(long seed, Path dir) throws IOException {
    Random r = new Random(seed);
    PowerCutChannels power = new PowerCutChannels(seed);
    DatastoreOptions faulty = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withChannels(power::open);
    Datastore ds = Datastore.create(dir, faulty, 0);
    Map<String, MemoryBlockDevice> content = new LinkedHashMap<>(); // every live volume, as last made durable
    Set<String> uncertain = new HashSet<>(); // written after the last durable point: content unknown after a cut
    MemoryBlockDevice base = new MemoryBlockDevice("base", SIZE);
    try (Volume v = ds.createVolume("base", SIZE)) {
      write(r, v, base, 4);
    }
    ds.createSnapshot("base", "s");
    content.put("base", base);
    for (int i = 0; i < 6; i++) {
      String name = "v" + i;
      MemoryBlockDevice m = new MemoryBlockDevice(name, SIZE);
      try (Volume v = ds.createVolume(name, SIZE)) {
        write(r, v, m, 1 + r.nextInt(4));
      }
      if (r.nextBoolean()) {
        ds.createSnapshot(name, "keep"); // deleted with the volume: the batches are recursive
      }
      content.put(name, m);
    }
    for (Volume c : ds.cloneSnapshot("base", "s", List.of("c0", "c1", "c2", "c3"))) {
      MemoryBlockDevice m = copy(base, c.name());
      write(r, c, m, 1 + r.nextInt(3));
      c.close();
      content.put(c.name(), m);
    }
    ds.flush();

    List<List<String>> deleted = new ArrayList<>();
    List<String> inFlight = List.of();
    power.failForceAfter(1 + r.nextInt(6));
    try {
      while (content.size() > 1) {
        // Unsynced writes for the batch's first flush to sync: the fsync that may fail.
        List<String> live = new ArrayList<>(content.keySet());
        String written = live.get(r.nextInt(live.size()));
        uncertain.add(written);
        try (Volume v = ds.volume(written)) {
          write(r, v, content.get(written), 1 + r.nextInt(3));
        }
        List<String> batch = pickBatch(r, live);
        inFlight = batch;
        ds.deleteVolumes(batch, true);
        uncertain.clear(); // the batch's flush made every earlier write durable
        batch.forEach(content::remove);
        deleted.add(batch);
        inFlight = List.of();
      }
    } catch (IOException injected) {
      assertThat(injected).hasMessageContaining("injected failure");
    }
    power.cut();
    ds.abandon();

    try (Datastore again = Datastore.open(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO))) {
      assertThat(again.check().problems()).as("check after the cut").isEmpty();
      for (List<String> batch : deleted) {
        for (String name : batch) {
          assertThat(again.hasVolume(name)).as("%s of completed batch %s", name, batch).isFalse();
        }
      }
      long present = inFlight.stream().filter(again::hasVolume).count();
      assertThat(present).as("volumes of the interrupted batch %s still there", inFlight)
          .isIn(0L, (long) inFlight.size());
      for (Map.Entry<String, MemoryBlockDevice> e : content.entrySet()) {
        String name = e.getKey();
        if (inFlight.contains(name) && present == 0) {
          continue;
        }
        assertThat(again.hasVolume(name)).as("%s was never deleted", name).isTrue();
        if (!uncertain.contains(name)) {
          assertSame(again, name, e.getValue());
        }
      }
      for (VolumeInfo v : again.volumes()) {
        assertThat(content).as("volume %s exists but was deleted", v.name()).containsKey(v.name());
      }
    }
  }

  /** Picks one to four live volumes; the base only with every clone still alive, which must go with it. */
  private static List<String> pickBatch(Random r, List<String> live) {
    List<String> shuffled = new ArrayList<>(live);
    java.util.Collections.shuffle(shuffled, r);
    List<String> batch = new ArrayList<>(shuffled.subList(0, 1 + r.nextInt(Math.min(4, shuffled.size()))));
    if (batch.contains("base")) {
      for (String name : live) {
        if (name.startsWith("c") && !batch.contains(name)) {
          batch.add(name);
        }
      }
    }
    return batch;
  }

  private static void write(Random r, Volume v, MemoryBlockDevice model, int writes) throws IOException {
    for (int i = 0; i < writes; i++) {
      int n = 4096 * (1 + r.nextInt(16));
      long off = 4096L * r.nextInt((int) ((SIZE - n) / 4096));
      ByteBuffer data = Workloads.data(r, n);
      v.write(off, data.duplicate());
      model.write(off, data);
    }
  }

  private static MemoryBlockDevice copy(MemoryBlockDevice d, String name) throws IOException {
    MemoryBlockDevice c = new MemoryBlockDevice(name, SIZE);
    byte[] all = new byte[(int) SIZE];
    d.read(0, ByteBuffer.wrap(all));
    c.write(0, ByteBuffer.wrap(all));
    return c;
  }

  private static void assertSame(Datastore ds, String device, MemoryBlockDevice expected) throws IOException {
    byte[] want = new byte[(int) SIZE];
    byte[] got = new byte[(int) SIZE];
    expected.read(0, ByteBuffer.wrap(want));
    try (Volume d = ds.volume(device, true)) {
      d.read(0, ByteBuffer.wrap(got));
    }
    assertThat(Arrays.mismatch(got, want)).as("content of %s", device).isEqualTo(-1);
  }
}
