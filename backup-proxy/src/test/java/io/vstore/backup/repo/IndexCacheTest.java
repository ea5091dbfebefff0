package io.vstore.backup.repo;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.store.ObjectInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cache's bounds and keys; {@code IndexCacheGcModelTest} tests it inside repositories. */
class IndexCacheTest {
  private static IndexEntries entries(Random r, int n) throws Exception {
    ChunkId[] ids = new ChunkId[n];
    int[] offsets = new int[n];
    int[] lengths = new int[n];
    for (int i = 0; i < n; i++) {
      byte[] id = new byte[ChunkId.BYTES];
      r.nextBytes(id);
      ids[i] = ChunkId.wrap(id);
      offsets[i] = PackTrailer.HEADER_BYTES + i * 100;
      lengths[i] = 100;
    }
    byte[] pack = new byte[16];
    r.nextBytes(pack);
    byte[] obj = IndexObject.write(List.of(new IndexObject.PackEntries(pack, ids, offsets, lengths, lengths)), null,
        "index/x");
    return IndexEntries.read(obj, null, "index/x");
  }

  private static ObjectInfo info(int i) {
    return new ObjectInfo("index/" + i, 1000 + i, Instant.ofEpochSecond(i));
  }

  @Test
  void staysWithinItsBudgetDroppingTheLeastRecentlyUsed() throws Exception {
    Random r = new Random(1);
    IndexEntries one = entries(r, 100);
    IndexCache cache = new IndexCache(one.memoryBytes() * 3 + 10);
    List<IndexEntries> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      all.add(entries(r, 100));
      cache.put("loc", "repo", info(i), all.get(i));
    }
    assertThat(cache.get("loc", "repo", info(0))).isSameAs(all.get(0)); // 0 is now the most recently used
    cache.put("loc", "repo", info(3), entries(r, 100));
    assertThat(cache.bytes()).isLessThanOrEqualTo(one.memoryBytes() * 3 + 10);
    assertThat(cache.get("loc", "repo", info(1))).as("least recently used").isNull();
    assertThat(cache.get("loc", "repo", info(0))).isSameAs(all.get(0));
    cache.put("loc", "repo", info(9), entries(r, 1000));
    assertThat(cache.get("loc", "repo", info(9))).as("larger than the whole budget").isNull();
  }

  @Test
  void findsAnObjectOnlyByItsRepositoryKeySizeAndTime() throws Exception {
    IndexCache cache = new IndexCache(1 << 20);
    IndexEntries e = entries(new Random(2), 10);
    cache.put("loc", "repo", info(1), e);
    assertThat(cache.get("loc", "repo", info(1))).isSameAs(e);
    assertThat(cache.get("loc", "other", info(1))).isNull();
    assertThat(cache.get("other", "repo", info(1))).isNull();
    assertThat(cache.get("loc", "repo", new ObjectInfo("index/1", 1001, Instant.ofEpochSecond(2)))).isNull();
    assertThat(cache.get("loc", "repo", new ObjectInfo("index/1", 1002, Instant.ofEpochSecond(1)))).isNull();
    cache.retainOnly("loc", "repo", List.of(info(2)));
    assertThat(cache.get("loc", "repo", info(1))).as("gone from the listing").isNull();
    assertThat(cache.bytes()).isZero();
  }

  @Test
  void entriesKeptAsWrittenEqualThoseParsedFromTheObject() throws Exception {
    long seed = Long.getLong("vstore.seed", new Random().nextLong());
    Random r = new Random(seed);
    for (int round = 0; round < 20; round++) {
      List<IndexObject.PackEntries> packs = new ArrayList<>();
      for (int p = r.nextInt(4); p > 0; p--) {
        int n = 1 + r.nextInt(50);
        ChunkId[] ids = new ChunkId[n];
        int[] offsets = new int[n];
        int[] stored = new int[n];
        int[] plain = new int[n];
        for (int i = 0; i < n; i++) {
          byte[] id = new byte[ChunkId.BYTES];
          r.nextBytes(id);
          ids[i] = ChunkId.wrap(id);
          offsets[i] = PackTrailer.HEADER_BYTES + r.nextInt(1 << 24);
          plain[i] = 1 + r.nextInt(RepositoryOptions.MAX_CHUNK);
          stored[i] = 1 + r.nextInt(BlobCodec.maxStored(plain[i]));
        }
        byte[] packId = new byte[16];
        r.nextBytes(packId);
        packs.add(new IndexObject.PackEntries(packId, ids, offsets, stored, plain));
      }
      IndexEntries kept = IndexEntries.of(packs);
      IndexEntries parsed = IndexEntries.read(IndexObject.write(packs, null, "index/x"), null, "index/x");
      String where = "seed " + seed + " (-Dvstore.seed=" + seed + "), round " + round;
      assertThat(kept.size()).as(where).isEqualTo(parsed.size());
      assertThat(kept.packCount()).as(where).isEqualTo(parsed.packCount());
      // memoryBytes may differ: a parsed object's arrays are sized by the bound its byte count gives.
      for (int p = 0; p < kept.packCount(); p++) {
        assertThat(kept.packId(p)).as(where).isEqualTo(parsed.packId(p));
        assertThat(kept.packStart(p)).as(where).isEqualTo(parsed.packStart(p));
      }
      for (int i = 0; i < kept.size(); i++) {
        for (int w = 0; w < 4; w++) {
          assertThat(kept.idWord(i, w)).as(where + ", entry " + i).isEqualTo(parsed.idWord(i, w));
        }
        assertThat(kept.offset(i)).as(where + ", entry " + i).isEqualTo(parsed.offset(i));
        assertThat(kept.storedLength(i)).as(where + ", entry " + i).isEqualTo(parsed.storedLength(i));
        assertThat(kept.plainLength(i)).as(where + ", entry " + i).isEqualTo(parsed.plainLength(i));
      }
    }
  }

  @Test
  void parsedEntriesMatchTheObject() throws Exception {
    Random r = new Random(3);
    IndexEntries e = entries(r, 50);
    ChunkIndex index = new ChunkIndex();
    index.ensureCapacity(e.size());
    index.putAllIfAbsent(e);
    index.putAllIfAbsent(e);
    assertThat(index.size()).isEqualTo(50);
    for (int i = 0; i < e.size(); i++) {
      byte[] id = new byte[ChunkId.BYTES];
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(id);
      for (int w = 0; w < 4; w++) {
        b.putLong(e.idWord(i, w));
      }
      ChunkIndex.Location loc = index.get(ChunkId.wrap(id));
      assertThat(loc.offset()).isEqualTo(e.offset(i));
      assertThat(loc.packId()).isEqualTo(e.packId(0));
      assertThat(loc.storedLength()).isEqualTo(100);
    }
  }
}
