package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointMeta;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A backup repository on S3 (a real Ceph RGW), reached as users reach it ({@code s3://} and the
 * environment, through the cache): init, a full and an incremental point, packs of at least 16
 * MiB, reopen from the cache and from S3 alone, every chunk read back, check and verify clean.
 */
@Tag("slow")   // about a minute on RGW
@ExtendWith(CephRgw.class)
final class S3RepositoryTest {
  private static final int CHUNK = 64 * 1024;
  private static final int CHUNKS = 600;   // 37.5 MiB of volume: two full packs and more
  private static final long PACK_MIN = RepositoryOptions.DEFAULT_PACK;

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(value = CephRgw.BucketKind.class, names = {"PLAIN", "OBJECT_LOCKED"})
  void aRepositoryOnS3StoresPointsAndReopensThroughTheCache(CephRgw.BucketKind kind) throws Exception {
    String location = "s3://" + CephRgw.server().createBucket(kind, 1) + "/backups/site-a";
    Map<String, String> env = new HashMap<>(CephRgw.server().environment());
    env.put("XDG_CACHE_HOME", dir.resolve("cache").toString());
    RepositoryOptions options = RepositoryOptions.defaults().withChunkSize(CHUNK).withArgon2(Argon2Params.TESTING);
    assertThat(options.packTargetBytes()).isGreaterThanOrEqualTo((int) PACK_MIN);
    KeySource key = new KeySource.Passphrase("correct horse".toCharArray());
    long size = (long) CHUNKS * CHUNK - 5000;   // a short last chunk

    // The model: what each point holds, chunk by chunk (null = hole).
    byte[][] full = new byte[CHUNKS][];
    byte[][] incremental;
    PointInfo first;
    PointInfo second;
    try (ObjectStore store = ObjectStores.open(location, env); Repository repo = Repository.init(store, key, options)) {
      PointWriter w = repo.newPoint(size, null);
      try (ChunkSink sink = repo.openSink()) {
        for (int i = 0; i < CHUNKS; i++) {
          if (i % 10 == 9) {
            continue;   // a hole
          }
          full[i] = chunk(i, i == CHUNKS - 1 ? CHUNK - 5000 : CHUNK);
          ByteBuffer data = ByteBuffer.wrap(full[i]);
          ChunkId id = repo.chunkId(data);
          sink.add(id, data);
          w.set(i, id, full[i].length);
        }
        first = w.commit(meta("c1"), sink);
      }
      incremental = full.clone();
      try (PointReader base = repo.openPoint(first.id())) {
        PointWriter w2 = repo.newPoint(size, base);
        try (ChunkSink sink = repo.openSink()) {
          for (int i = 5; i < CHUNKS - 1; i += 37) {
            incremental[i] = chunk(100_000 + i, CHUNK);
            ByteBuffer data = ByteBuffer.wrap(incremental[i]);
            ChunkId id = repo.chunkId(data);
            sink.add(id, data);
            w2.set(i, id, CHUNK);
          }
          w2.clear(1);
          incremental[1] = null;
          second = w2.commit(meta("c2"), sink);
        }
      }
    }

    // Packs: at least 16 MiB, except the last pack of each of the two sessions.
    try (ObjectStore s3 = S3Store.open(S3Location.parse(location), CephRgw.server().settings())) {
      List<Long> packs = new ArrayList<>();
      s3.list("data/", o -> packs.add(o.size()));
      assertThat(packs).hasSizeGreaterThanOrEqualTo(3);
      assertThat(packs.stream().filter(s -> s < PACK_MIN).count()).as("packs under 16 MiB: %s", packs)
          .isLessThanOrEqualTo(2);
    }

    // Reopen through the cache: the indexes, keys, config, manifests and pages come from the copies.
    try (ObjectStore store = ObjectStores.open(location, env); Repository repo = Repository.open(store, key, options)) {
      assertThat(repo.points()).extracting(PointInfo::id).containsExactly(first.id(), second.id());
      try (PointReader r = repo.openPoint(second.id())) {
        r.chunk(0);
      }
      assertThat(((CachingStore) store).hitsAndMisses()[1]).as("reads the cache could not answer").isZero();
      assertThat(((CachingStore) store).hitsAndMisses()[0]).isPositive();
    }

    // Reopen from S3 alone (an empty cache), read every chunk of both points, check and verify.
    deleteTree(dir.resolve("cache"));
    try (ObjectStore store = ObjectStores.open(location, env); Repository repo = Repository.open(store, key, options)) {
      assertPointHolds(repo, first.id(), full, size);
      assertPointHolds(repo, second.id(), incremental, size);
      assertThat(repo.check().problems()).isEmpty();
      assertThat(repo.verify(100).problems()).isEmpty();
    }
  }

  private static void assertPointHolds(Repository repo, String id, byte[][] model, long size) throws IOException {
    try (PointReader r = repo.openPoint(id)) {
      assertThat(r.size()).isEqualTo(size);
      for (int i = 0; i < CHUNKS; i++) {
        ChunkRef ref = r.chunk(i);
        if (model[i] == null) {
          assertThat(ref).as("chunk %d of %s", i, id).isNull();
        } else {
          assertThat(ref).as("chunk %d of %s", i, id).isNotNull();
          assertThat(repo.readChunk(ref.id())).as("chunk %d of %s", i, id).isEqualTo(ByteBuffer.wrap(model[i]));
        }
      }
    }
  }

  private static PointMeta meta(String changeId) {
    return new PointMeta("vol1", "volume", null, changeId, Instant.now(), List.of(), (long) CHUNKS * CHUNK);
  }

  // Half incompressible, half text: packs fill with both kinds of blob.
  private static byte[] chunk(long seed, int length) {
    byte[] b = new byte[length];
    Random r = new Random(seed);
    if (seed % 2 == 0) {
      r.nextBytes(b);
    } else {
      byte[] text = ("chunk " + seed + " of a test volume ").getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < length; i++) {
        b[i] = text[i % text.length];
      }
    }
    return b;
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.notExists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path f : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(f);
      }
    }
  }
}
