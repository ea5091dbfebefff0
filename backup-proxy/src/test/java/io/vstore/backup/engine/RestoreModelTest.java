package io.vstore.backup.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.repo.Compression;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random point layouts (random, compressible and repeated chunks, zeros, never-written
 * regions; encrypted or not; every compression) restored by workers that read, decode and write in
 * parallel, into a raw image file: compared byte for byte, holes left unwritten, and a failure
 * injected in a worker surfaces as the restore's error, leaves a progress record that claims only
 * chunks really written, and a rerun completes the file. Prints the seed and step on failure.
 */
class RestoreModelTest {
  private static final int SEEDS = BackupFixture.CI ? 4 : 8;
  private static final KeySource KEY = new KeySource.Passphrase("restore model".toCharArray());

  @TempDir Path tmp;

  @Test
  void randomLayoutsRestoreExactlyAndAFailedWorkerLeavesAResumablePartialFile() throws Exception {
    long base = System.nanoTime();
    for (int i = 0; i < SEEDS; i++) {
      long seed = base + i;
      String[] step = {"setup"};
      try {
        runSeed(seed, tmp.resolve("s" + i), step);
      } catch (AssertionError | Exception e) {
        throw new AssertionError("seed " + seed + " failed at step '" + step[0] + "': " + e.getMessage(), e);
      }
    }
  }

  private static void runSeed(long seed, Path dir, String[] step) throws Exception {
    Random rnd = new Random(seed);
    int chunk = (16 << 10) << rnd.nextInt(3); // 16, 32 or 64 KiB
    int chunks = 16 + rnd.nextInt(240);
    long size = (long) chunks * chunk;
    boolean encrypted = rnd.nextBoolean();
    Compression compression = Compression.values()[rnd.nextInt(Compression.values().length)];
    Datastore ds = Datastore.create(Files.createDirectories(dir.resolve("ds")),
        DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 64L << 30);
    try (ds; DirectoryStore store = DirectoryStore.open(Files.createDirectories(dir.resolve("repo")));
        Repository repo = Repository.init(store, encrypted ? KEY : null, RepositoryOptions.defaults()
            .withChunkSize(chunk).withCompression(compression).withArgon2(Argon2Params.TESTING)
            .withPackTargetBytes((16 + rnd.nextInt(64)) * chunk))) {
      step[0] = "fill " + chunks + " chunks of " + chunk + " (" + compression + (encrypted ? ", encrypted" : "") + ")";
      byte[] content = new byte[Math.toIntExact(size)];
      boolean[] hole = new boolean[chunks];
      byte[][] repeated = new byte[3][chunk];
      for (byte[] r : repeated) {
        rnd.nextBytes(r);
      }
      ds.createVolume("v", size).close();
      try (Volume v = ds.volume("v")) {
        for (int c = 0; c < chunks; c++) {
          byte[] b = new byte[chunk];
          switch (rnd.nextInt(6)) {
            case 0 -> hole[c] = true; // never written
            case 1 -> {
              hole[c] = true; // zeros written: a hole of the point too
              v.write((long) c * chunk, ByteBuffer.wrap(b));
            }
            case 2 -> b = repeated[rnd.nextInt(repeated.length)].clone();
            case 3 -> Arrays.fill(b, rnd.nextInt(chunk), chunk, (byte) ('a' + rnd.nextInt(3))); // compressible
            default -> rnd.nextBytes(b);
          }
          if (!hole[c]) {
            if (rnd.nextInt(4) == 0) {
              Arrays.fill(b, 0, rnd.nextInt(chunk), (byte) 0); // zeros in part: still data
              b[chunk - 1] = 1;
            }
            System.arraycopy(b, 0, content, c * chunk, chunk);
            v.write((long) c * chunk, ByteBuffer.wrap(b));
          }
        }
        v.flush();
      }
      step[0] = "backup";
      String id = new BackupRun(ds, repo, BackupListener.NONE).workers(1 + rnd.nextInt(3)).volume("v").point().id();
      long dataChunks = chunks - countTrue(hole);

      try (PointReader p = repo.openPoint(id)) {
        step[0] = "restore whole";
        Path whole = dir.resolve("whole.raw");
        try (DiskImage img = ImageFormats.create(whole, "raw", size, CreateOptions.none())) {
          long bytes = new PointRestore(repo, p, BackupListener.NONE).workers(1 + rnd.nextInt(6))
              .checkpointBytes((1 + rnd.nextInt(8)) * chunk).into(img);
          assertThat(bytes).isEqualTo(dataChunks * chunk);
          assertHolesUnwritten(img, hole, chunk);
        }
        assertThat(Files.readAllBytes(whole)).as("restored file").isEqualTo(content);

        step[0] = "restore with a failing worker";
        Path partial = dir.resolve("partial.raw");
        Path record = dir.resolve("partial.raw.progress");
        long failAfter = dataChunks == 0 ? 0 : rnd.nextLong(dataChunks);
        try (DiskImage img = ImageFormats.create(partial, "raw", size, CreateOptions.none())) {
          int workers = 1 + rnd.nextInt(6);
          if (dataChunks > 0) {
            assertThatThrownBy(() -> new PointRestore(repo, p, BackupListener.NONE).workers(workers)
                .progressFile(record).checkpointBytes((1 + rnd.nextInt(8)) * chunk).failAfterChunks(failAfter)
                .into(img)).as("restore with a failure after %d chunks", failAfter)
                .hasMessageContaining("injected failure");
            RestoreProgress saved = RestoreProgress.load(record);
            assertThat(saved).as("progress record of the failed restore").isNotNull();
            assertThat(saved.pointId()).isEqualTo(id);
            assertThat(saved.doneChunks()).as("the record claims a complete file").isLessThan(chunks);
            byte[] got = new byte[Math.toIntExact(saved.doneChunks() * chunk)];
            img.read(0, ByteBuffer.wrap(got));
            assertThat(got).as("chunks below the record's mark %d", saved.doneChunks())
                .isEqualTo(Arrays.copyOf(content, got.length));
          }
          step[0] = "resume after the failure at " + failAfter;
          new PointRestore(repo, p, BackupListener.NONE).workers(1 + rnd.nextInt(6)).progressFile(record).into(img);
          assertHolesUnwritten(img, hole, chunk);
        }
        assertThat(Files.exists(record)).as("record removed when the restore completes").isFalse();
        assertThat(Files.readAllBytes(partial)).as("resumed file").isEqualTo(content);
      }
    }
  }

  private static void assertHolesUnwritten(DiskImage img, boolean[] hole, int chunk) throws IOException {
    for (int c = 0; c < hole.length; c++) {
      if (hole[c]) {
        long at = (long) c * chunk;
        assertThat(img.allocation(at, chunk).stream().noneMatch(e -> e.kind() == Extent.Kind.DATA))
            .as("chunk %d (a hole of the point) stays a hole", c).isTrue();
      }
    }
  }

  private static int countTrue(boolean[] a) {
    int n = 0;
    for (boolean b : a) {
      n += b ? 1 : 0;
    }
    return n;
  }
}
