package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.server.http.Exchange;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The cached listing is byte for byte what Jackson writes for the same list, whatever changed between calls. */
class VolumeListJsonTest {
  @Test
  void cachedListingEqualsFreshSerializationAcrossChanges() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    VolumeListJson cache = new VolumeListJson();
    List<VolumeInfo> volumes = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      volumes.add(random(random, "v" + i));
    }
    for (int step = 0; step < 300; step++) {
      int op = random.nextInt(4);
      int at = random.nextInt(volumes.size());
      if (op == 0) { // figures change
        VolumeInfo v = volumes.get(at);
        volumes.set(at, new VolumeInfo(v.name(), v.uuid(), v.size(), v.allocated() + 4096, v.mapped() + 4096,
            v.unique(), v.shared(), v.uuid() + "/" + (v.generation() + 1), v.generation() + 1, v.parent(),
            v.snapshots(), v.created()));
      } else if (op == 1) { // deleted, and a volume of the same name created (a new uuid)
        volumes.set(at, random(random, volumes.get(at).name()));
      } else if (op == 2 && volumes.size() > 1) {
        volumes.remove(at);
      } else {
        volumes.add(random(random, "w" + step));
      }
      int from = random.nextInt(volumes.size());
      List<VolumeInfo> page = random.nextBoolean() ? volumes : volumes.subList(from, volumes.size());
      assertThat(new String(cache.write(page, volumes)))
          .as("seed %d step %d", seed, step)
          .isEqualTo(Exchange.JSON.writeValueAsString(page));
      assertThat(cache.size()).as("seed %d step %d: entries of deleted volumes are dropped", seed, step)
          .isLessThanOrEqualTo(volumes.size() + volumes.size() / 10 + 16);
    }
  }

  @Test
  void emptyListIsAnEmptyArray() throws Exception {
    assertThat(new String(new VolumeListJson().write(List.of(), List.of()))).isEqualTo("[]");
  }

  private static VolumeInfo random(Random random, String name) {
    String uuid = new UUID(random.nextLong(), random.nextLong()).toString();
    long gen = random.nextInt(100);
    return new VolumeInfo(name, uuid, 1L << 30, random.nextInt(1000) * 4096L, random.nextInt(1000) * 4096L,
        random.nextInt(100) * 4096L, 0, uuid + "/" + gen, gen, random.nextBoolean() ? null : "p@s" + name,
        random.nextInt(5), "2026-12-07T02:39:41.203435112Z");
  }
}
