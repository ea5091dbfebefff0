package io.vstore.backup.maint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.vstore.backup.repo.RepositoryMaintenance;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class RepositorySyncTest {
  private static final int CHUNK = RepositoryOptions.MIN_CHUNK;
  private static final int CHUNKS = 24;
  private static final KeySource SOURCE_KEY = new KeySource.Passphrase("source".toCharArray());
  private static final KeySource TARGET_KEY = new KeySource.Passphrase("target".toCharArray());

  @TempDir Path tmp;

  private static RepositoryOptions options() {
    return RepositoryOptions.defaults().withChunkSize(CHUNK).withArgon2(Argon2Params.TESTING)
        .withPackTargetBytes(48 * 1024);
  }

  /** Writes three points of one volume into {@code repo}, each based on the previous one. */
  private static void backups(Repository repo, long seed) throws IOException {
    Random rnd = new Random(seed);
    PointReader base = null;
    for (int n = 0; n < 3; n++) {
      PointWriter w = repo.newPoint((long) CHUNKS * CHUNK, base);
      try (ChunkSink sink = repo.openSink()) {
        for (int i = 0; i < CHUNKS; i++) {
          if (base != null && rnd.nextInt(3) != 0) {
            continue;
          }
          if (rnd.nextInt(6) == 0) {
            w.clear(i);
            continue;
          }
          byte[] b = new byte[CHUNK];
          new Random(rnd.nextInt(40)).nextBytes(b);
          ByteBuffer data = ByteBuffer.wrap(b);
          ChunkId id = repo.chunkId(data);
          sink.add(id, data);
          w.set(i, id, CHUNK);
        }
        PointInfo info = w.commit(new PointMeta("vm1/disk0", "volume", "vm1", "c" + n,
            Instant.parse("2026-03-0" + (n + 1) + "T10:00:00Z"), List.of("t" + n), 1234), sink);
        if (base != null) {
          base.close();
        }
        base = repo.openPoint(info.id());
      }
    }
    base.close();
  }

  @Test
  void syncCopiesMissingPointsAndResumesAfterAFailure() throws Exception {
    ObjectStore from = DirectoryStore.open(tmp.resolve("from"));
    ObjectStore to = DirectoryStore.open(tmp.resolve("to"));
    try (Repository src = Repository.init(from, SOURCE_KEY, options())) {
      backups(src, 42);
      RepositoryMaintenance.initSharingChunkIds(to, TARGET_KEY, options(), src).close();
    }
    // The first run dies after a few writes to the target.
    FailingStore failing = new FailingStore(to, 9);
    assertThatThrownBy(() -> RepositorySync.run(from, SOURCE_KEY, failing, TARGET_KEY, null))
        .isInstanceOf(IOException.class).hasMessageContaining("injected crash");
    RepositorySync.Result r = RepositorySync.run(from, SOURCE_KEY, to, TARGET_KEY, null);
    assertThat(r.pointsCopied().size() + r.pointsPresent()).isEqualTo(3);
    assertThat(r.chunksPresent()).as("chunks that arrived before the failure are not sent again").isPositive();
    assertSameContent(from, SOURCE_KEY, to, TARGET_KEY);
    // A second run has nothing to do.
    RepositorySync.Result again = RepositorySync.run(from, SOURCE_KEY, to, TARGET_KEY, null);
    assertThat(again.pointsCopied()).isEmpty();
    assertThat(again.pointsPresent()).isEqualTo(3);
    assertThat(again.chunksCopied()).isZero();
  }

  @Test
  void anIncrementalSyncCopiesOnlyNewChunks() throws Exception {
    ObjectStore from = DirectoryStore.open(tmp.resolve("from"));
    ObjectStore to = DirectoryStore.open(tmp.resolve("to"));
    try (Repository src = Repository.init(from, null, options())) {
      backups(src, 7);
      RepositoryMaintenance.initSharingChunkIds(to, null, options(), src).close();
    }
    RepositorySync.Result first = RepositorySync.run(from, null, to, null, null);
    try (Repository src = Repository.open(from, null)) {
      backups(src, 8); // three more points, sharing some chunks with the first three
    }
    RepositorySync.Result second = RepositorySync.run(from, null, to, null, null);
    assertThat(first.pointsCopied()).hasSize(3);
    assertThat(second.pointsCopied()).hasSize(3);
    assertThat(second.pointsPresent()).isEqualTo(3);
    assertThat(second.chunksPresent()).isPositive();
    assertSameContent(from, null, to, null);
  }

  @Test
  void aTargetWithItsOwnChunkIdKeyIsRefusedWithHowToMakeOne() throws Exception {
    ObjectStore from = DirectoryStore.open(tmp.resolve("from"));
    ObjectStore to = DirectoryStore.open(tmp.resolve("to"));
    Repository.init(from, null, options()).close();
    Repository.init(to, null, options()).close();
    assertThatThrownBy(() -> RepositorySync.run(from, null, to, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("own chunk-id key")
        .hasMessageContaining("vstore backup init " + to + " --copy-ids-from " + from);
  }

  private static void assertSameContent(ObjectStore from, KeySource fromKey, ObjectStore to, KeySource toKey)
      throws IOException {
    try (Repository a = Repository.open(from, fromKey, options()); Repository b = Repository.open(to, toKey, options())) {
      List<PointInfo> pa = a.points();
      assertThat(b.points()).isEqualTo(pa);
      for (PointInfo p : pa) {
        try (PointReader ra = a.openPoint(p.id()); PointReader rb = b.openPoint(p.id())) {
          for (long i = 0; i < ra.chunkCount(); i++) {
            ChunkRef x = ra.chunk(i);
            ChunkRef y = rb.chunk(i);
            assertThat(y).as("point %s chunk %d", p.id(), i).isEqualTo(x);
            if (x != null) {
              assertThat(b.readChunk(y.id())).isEqualTo(a.readChunk(x.id()));
            }
          }
        }
      }
      assertThat(b.check().problems()).isEmpty();
    }
  }
}
