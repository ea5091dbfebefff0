package io.vstore.backup.engine;

import io.vstore.backup.store.ForwardingObjectStore;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a restore reads the repository (pack by pack, each stored byte at most once, fewer reads than
 * chunks) and how the sink's background pack writes report a failure.
 */
class PackOrderRestoreTest {
  private static final int CHUNK = 16 << 10;
  private static final int SIZE = 8 << 20;

  @TempDir Path tmp;

  /** Reads of pack objects, recorded: the pack key and the byte range. */
  private static final class RecordingStore extends ForwardingObjectStore {
    record Read(String key, long offset, int length) {}

    final List<Read> packReads = new ArrayList<>();

    RecordingStore(ObjectStore store) {
      super(store);
    }

    @Override
    public byte[] get(String key, long offset, int length) throws IOException {
      if (key.startsWith("data/")) {
        synchronized (packReads) {
          packReads.add(new Read(key, offset, length));
        }
      }
      return delegate.get(key, offset, length);
    }

    @Override
    public void close() {}
  }

  /** A store whose pack writes fail after {@code packsLeft} of them. */
  private static final class FailingPacks extends ForwardingObjectStore {
    private final AtomicInteger packsLeft;

    FailingPacks(ObjectStore store, int packsLeft) {
      super(store);
      this.packsLeft = new AtomicInteger(packsLeft);
    }

    @Override
    public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
      if (key.startsWith("data/") && packsLeft.decrementAndGet() < 0) {
        throw new IOException("injected failure writing pack " + key);
      }
      return delegate.putIfAbsent(key, data);
    }

    @Override
    public void close() {}
  }

  /**
   * A volume of random chunks, repeated chunks (stored once, used at several offsets), zeros and a
   * never-written region; returns its content.
   */
  private static byte[] fill(BackupFixture f, long seed) throws IOException {
    Random rnd = new Random(seed);
    byte[] content = new byte[SIZE];
    byte[] repeated = new byte[CHUNK];
    rnd.nextBytes(repeated);
    for (int c = 0; c < SIZE / CHUNK; c++) {
      int kind = c % 8;
      if (kind == 6 || c >= SIZE / CHUNK - 16) {
        continue; // zeros or never written: holes of the point
      }
      if (kind == 3 || kind == 5) {
        System.arraycopy(repeated, 0, content, c * CHUNK, CHUNK);
      } else {
        byte[] b = new byte[CHUNK];
        rnd.nextBytes(b);
        if (kind == 1) {
          java.util.Arrays.fill(b, CHUNK / 2, CHUNK, (byte) 'a'); // compressible
        }
        System.arraycopy(b, 0, content, c * CHUNK, CHUNK);
      }
    }
    try (Volume v = f.ds.volume("v")) {
      v.write(0, ByteBuffer.wrap(content, 0, SIZE - 16 * CHUNK));
      v.flush();
    }
    return content;
  }

  private static byte[] restore(Repository repo, String point, BackupFixture f, String name, int workers)
      throws IOException {
    try (PointReader p = repo.openPoint(point); Volume out = f.ds.createVolume(name, SIZE)) {
      new PointRestore(repo, p, BackupListener.NONE).workers(workers).into(out);
      assertThat(out.allocation(SIZE - 16 * CHUNK, 16 * CHUNK).stream().allMatch(e -> e.kind() != io.vstore.blockstore.Extent.Kind.DATA))
          .as("holes stay holes").isTrue();
      return BackupFixture.readAll(out);
    }
  }

  /** Asserts that no byte of any pack was read twice and returns how many pack reads there were. */
  private static int assertNoPackByteReadTwice(RecordingStore store) {
    Map<String, List<RecordingStore.Read>> byPack = new HashMap<>();
    for (RecordingStore.Read r : store.packReads) {
      byPack.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(r);
    }
    for (List<RecordingStore.Read> reads : byPack.values()) {
      reads.sort(java.util.Comparator.comparingLong(RecordingStore.Read::offset));
      for (int i = 1; i < reads.size(); i++) {
        RecordingStore.Read a = reads.get(i - 1);
        RecordingStore.Read b = reads.get(i);
        assertThat(b.offset()).as("pack %s read at %d+%d and again at %d", a.key(), a.offset(), a.length(), b.offset())
            .isGreaterThanOrEqualTo(a.offset() + a.length());
      }
    }
    return store.packReads.size();
  }

  @Test
  void aRestoreReadsEachPackOnceInLargeReadsAndWritesEveryChunk() throws IOException {
    try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
      f.ds.createVolume("v", SIZE).close();
      byte[] first = fill(f, 1);
      // Three workers store the chunks: the packs hold them out of the volume's order.
      String full = new BackupRun(f.ds, f.repo, BackupListener.NONE).workers(3).volume("v").point().id();
      byte[] second = first.clone();
      Random rnd = new Random(2);
      try (Volume v = f.ds.volume("v")) {
        for (int i = 0; i < 40; i++) {
          int c = rnd.nextInt(SIZE / CHUNK - 16);
          byte[] b = new byte[CHUNK];
          rnd.nextBytes(b);
          System.arraycopy(b, 0, second, c * CHUNK, CHUNK);
          v.write((long) c * CHUNK, ByteBuffer.wrap(b));
        }
        v.flush();
      }
      String incremental = new BackupRun(f.ds, f.repo, BackupListener.NONE).workers(2).volume("v").point().id();

      RecordingStore recording = new RecordingStore(f.store);
      try (Repository repo = Repository.open(recording, null)) {
        assertThat(restore(repo, full, f, "r1", 2)).isEqualTo(first);
        int reads = assertNoPackByteReadTwice(recording);
        long dataChunks = SIZE / CHUNK - 16 - (SIZE / CHUNK - 16 + 7) / 8;
        assertThat(reads).as("pack reads for %d data chunks", dataChunks).isLessThan((int) (dataChunks / 4));

        recording.packReads.clear();
        // The incremental point uses the full point's packs in part and its own new ones.
        assertThat(restore(repo, incremental, f, "r2", 1)).isEqualTo(second);
        assertNoPackByteReadTwice(recording);
      }
    }
  }

  @Test
  void aPackThatCannotBeWrittenFailsTheBackupAndARerunCompletesIt() {
    assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
      try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
        f.ds.createVolume("v", SIZE).close();
        byte[] content = fill(f, 3);
        // Packs of 256 KiB: the backup writes about twenty, several in the background at once.
        try (Repository failing = Repository.open(new FailingPacks(f.store, 5), null,
            RepositoryOptions.defaults().withPackTargetBytes(256 << 10))) {
          assertThatThrownBy(() -> new BackupRun(f.ds, failing, BackupListener.NONE).workers(2).volume("v"))
              .hasMessageContaining("injected failure writing pack");
        }
        f.reopenRepository();
        assertThat(f.repo.points()).isEmpty();
        String point = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v").point().id();
        assertThat(restore(f.repo, point, f, "r", 2)).isEqualTo(content);
      }
    });
  }
}
