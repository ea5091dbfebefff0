package io.vstore.backup.maint;

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
import io.vstore.backup.repo.RepositoryReport;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gc's safety, as a model test: seeded random interleavings of backups (each a separate "process"
 * with its own repository handle and lock, some of them killed part-way), prunes, gcs and gcs or
 * prunes killed part-way, on one repository. After every step each committed, unpruned point reads
 * back exactly as the model says and check() is clean; a backup that runs across gcs still commits
 * a point that reads back. Processes are on "other hosts" of a clock the test moves, so a killed
 * one's lock goes stale after twice its interval, as it would.
 */
final class GcSafetyModelTest {
  private static final int CHUNK = RepositoryOptions.MIN_CHUNK;
  private static final int CHUNKS = 20;
  private static final long SIZE = (long) CHUNKS * CHUNK - 777;
  private static final Duration INTERVAL = Duration.ofSeconds(60);
  private static final Duration STEP = Duration.ofSeconds(10);
  private static final String[] SOURCES = {"vm1/disk0", "vm2/disk0"};

  @TempDir Path tmp;

  @Test
  void backupsPrunesAndGcsInterleavedNeverLoseACommittedPoint() throws Exception {
    boolean ci = System.getenv("CI") != null;
    int seeds = ci ? 2 : 4;
    int steps = ci ? 70 : 120;
    // -Dgc.model.seed=N replays a failure (the seed of the first model of the run, printed as "seeds from").
    long base = Long.getLong("gc.model.seed", new Random().nextLong());
    int[] totals = new int[5];
    // Models run until each behaviour asserted below was exercised at least once (at most 8 more
    // than planned): with the CI's two seeds, one run in some dozens repacked no pack.
    int ran = 0;
    for (int s = 0; s < seeds || (s < seeds + 8 && !exercisedAll(totals)); s++) {
      ran++;
      long seed = base + s;
      Model m = new Model(seed, Files.createDirectory(tmp.resolve("seed" + s)), steps);
      m.run();
      totals[0] += m.gcs;
      totals[1] += m.committedAcrossGc;
      totals[2] += m.packsDeleted;
      totals[3] += m.packsRestored;
      totals[4] += m.packsRepacked;
    }
    System.out.printf("gc model: %d seeds from %d: %d gcs, %d points committed across a gc, %d packs deleted, "
        + "%d restored, %d repacked%n", ran, base, totals[0], totals[1], totals[2], totals[3], totals[4]);
    // The run must have exercised what it claims to test.
    assertThat(totals[0]).as("gcs run").isPositive();
    assertThat(totals[1]).as("points committed by backups that ran across a gc").isPositive();
    assertThat(totals[2]).as("packs deleted").isPositive();
    assertThat(totals[4]).as("packs repacked").isPositive();
  }

  private static boolean exercisedAll(int[] totals) {
    return totals[0] > 0 && totals[1] > 0 && totals[2] > 0 && totals[4] > 0;
  }

  private static RepositoryOptions options() {
    return RepositoryOptions.defaults().withChunkSize(CHUNK).withArgon2(Argon2Params.TESTING)
        .withPackTargetBytes(48 * 1024);
  }

  /** One seeded run. */
  private static final class Model {
    final long seed;
    final Random rnd;
    final Path dir;
    final int steps;
    final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    final ObjectStore store;
    final KeySource key;
    final Map<String, byte[]> points = new LinkedHashMap<>();
    final Map<String, String> sourceOf = new HashMap<>();
    final List<Backup> running = new ArrayList<>();
    int processes;
    int step;
    int committedAcrossGc;
    int gcs;
    int packsDeleted;
    int packsRestored;
    int packsRepacked;
    boolean dirty = true;

    Model(long seed, Path dir, int steps) throws IOException {
      this.seed = seed;
      this.rnd = new Random(seed);
      this.dir = dir;
      this.steps = steps;
      this.store = DirectoryStore.open(dir);
      this.key = rnd.nextBoolean() ? new KeySource.Passphrase("model".toCharArray()) : null;
    }

    RepositoryLocks locksOfNewProcess(ObjectStore s) {
      int n = ++processes;
      return new RepositoryLocks(s, new ProcessIdentity("sim-host-" + n, "sim" + n, 1000 + n, 1), clock, INTERVAL);
    }

    Repository open(ObjectStore s) throws IOException {
      return Repository.open(s, key, options());
    }

    void run() throws Exception {
      Repository.init(store, key, options()).close();
      try {
        for (step = 0; step < steps; step++) {
          clock.advance(STEP);
          for (Backup b : running) {
            b.lock.refresh();
          }
          int op = rnd.nextInt(100);
          if (op < 25 && running.size() < 3) {
            running.add(new Backup(SOURCES[rnd.nextInt(SOURCES.length)]));
          } else if (op < 55 && !running.isEmpty()) {
            Backup b = running.get(rnd.nextInt(running.size()));
            if (b.advance()) {
              running.remove(b);
            }
          } else if (op < 62 && !running.isEmpty()) {
            running.remove(running.get(rnd.nextInt(running.size())).kill());
          } else if (op < 72) {
            prune(rnd.nextInt(4) == 0 ? rnd.nextInt(40) : -1);
          } else if (op < 92) {
            gc(rnd.nextInt(3) == 0 ? rnd.nextInt(60) : -1);
          } else {
            clock.advance(INTERVAL); // time passes: killed processes' locks go stale
          }
          verify();
        }
        // Finish every backup, then gc until nothing waits: everything still reads and garbage is gone.
        for (Backup b : new ArrayList<>(running)) {
          while (!b.advance()) {
            // keep going
          }
        }
        running.clear();
        for (int i = 0; i < 3; i++) {
          clock.advance(INTERVAL.multipliedBy(3));
          gc(-1);
        }
        verify();
        assertThat(listCount("gc/")).as(context("gc objects left once no backup runs")).isZero();
      } catch (AssertionError | Exception e) {
        throw new AssertionError("seed " + seed + " step " + step + ": " + e.getMessage(), e);
      } finally {
        store.close();
      }
    }

    int listCount(String prefix) throws IOException {
      int[] n = {0};
      store.list(prefix, o -> n[0]++);
      return n[0];
    }

    String context(String what) {
      return "seed " + seed + " step " + step + ": " + what;
    }

    void prune(int crashAfter) throws IOException {
      FailingStore s = new FailingStore(store, crashAfter < 0 ? Integer.MAX_VALUE : crashAfter);
      try (Repository repo = open(s)) {
        RetentionOptions o = new RetentionOptions(1 + rnd.nextInt(3), 0, rnd.nextInt(2), 0, 0, 0, null);
        try {
          new Pruner(repo, locksOfNewProcess(s), ZoneOffset.UTC).prune(o, SOURCES[rnd.nextInt(2)], false);
        } catch (IOException e) {
          assertThat(s.failed()).as(context("prune failed without an injected crash: " + e)).isTrue();
        }
      }
      // Whatever the prune removed (all or, killed, part of what it meant to) leaves the model.
      Set<String> present = new HashSet<>();
      try (Repository repo = open(store)) {
        for (PointInfo p : repo.points()) {
          present.add(p.id());
        }
      }
      for (Backup b : running) {
        if (b.baseId != null) {
          assertThat(present).as(context("base " + b.baseId + " of a running backup was pruned")).contains(b.baseId);
        }
      }
      points.keySet().retainAll(present);
    }

    void gc(int crashAfter) throws IOException {
      FailingStore s = new FailingStore(store, crashAfter < 0 ? Integer.MAX_VALUE : crashAfter);
      try (Repository repo = open(s)) {
        GarbageCollector.Result r = new GarbageCollector(repo, locksOfNewProcess(s), clock).run(false);
        gcs++;
        packsDeleted += r.packsDeleted();
        packsRestored += r.packsRestored();
        packsRepacked += r.packsRepacked();
      } catch (LockConflictException e) {
        // a killed gc's lock is not stale yet: wait for it, as the command line tells people to
      } catch (IOException e) {
        assertThat(s.failed()).as(context("gc failed without an injected crash: " + e)).isTrue();
      }
      for (Backup b : running) {
        b.gcsSeen++;
      }
    }

    void verify() throws IOException {
      try (Repository repo = open(store)) {
        RepositoryReport report = repo.check();
        assertThat(report.problems()).as(context("check")).isEmpty();
        for (Map.Entry<String, byte[]> e : points.entrySet()) {
          try (PointReader r = repo.openPoint(e.getKey())) {
            assertThat(r.size()).isEqualTo(SIZE);
            byte[] want = e.getValue();
            for (int i = 0; i < CHUNKS; i++) {
              ChunkRef ref = r.chunk(i);
              int len = (int) Math.min(CHUNK, SIZE - (long) i * CHUNK);
              byte[] expect = Arrays.copyOfRange(want, i * CHUNK, i * CHUNK + len);
              if (ref == null) {
                assertThat(isZero(expect)).as(context("point " + e.getKey() + " chunk " + i + " is a hole")).isTrue();
              } else {
                ByteBuffer got = repo.readChunk(ref.id());
                byte[] g = new byte[got.remaining()];
                got.get(g);
                assertThat(g).as(context("point " + e.getKey() + " chunk " + i)).isEqualTo(expect);
              }
            }
          }
        }
        assertThat(repo.points()).extracting(PointInfo::id).containsAll(points.keySet());
      }
    }

    static boolean isZero(byte[] b) {
      for (byte x : b) {
        if (x != 0) {
          return false;
        }
      }
      return true;
    }

    byte[] newestOf(String source, String[] idOut) {
      byte[] content = null;
      Instant newest = null;
      for (Map.Entry<String, byte[]> e : points.entrySet()) {
        if (source.equals(sourceOf.get(e.getKey()))) {
          content = e.getValue();
          idOut[0] = e.getKey();
        }
      }
      return content;
    }

    /** One backup "process": its own lock and repository handle, a few chunks per step. */
    final class Backup {
      final String source;
      final RepositoryLocks locks;
      final RepositoryLock lock;
      final Repository repo;
      final String baseId;
      final PointReader baseReader;
      final PointWriter writer;
      final ChunkSink sink;
      final byte[] content;
      final List<Integer> toWrite = new ArrayList<>();
      int gcsSeen;

      Backup(String source) throws IOException {
        this.source = source;
        String[] base = new String[1];
        byte[] baseContent = newestOf(source, base);
        this.baseId = base[0];
        this.locks = locksOfNewProcess(store);
        // The lock first, then the index: gc relies on that order.
        this.lock = locks.acquire(LockKind.BACKUP, baseId, source);
        this.repo = open(store);
        this.baseReader = baseId == null ? null : repo.openPoint(baseId);
        this.writer = repo.newPoint(SIZE, baseReader);
        this.sink = repo.openSink();
        this.content = baseContent == null ? new byte[CHUNKS * CHUNK] : baseContent.clone();
        for (int i = 0; i < CHUNKS; i++) {
          if (baseContent == null || rnd.nextInt(4) == 0) {
            toWrite.add(i);
            fill(i);
          }
        }
        java.util.Collections.shuffle(toWrite, rnd);
      }

      private void fill(int i) {
        int kind = rnd.nextInt(10);
        byte[] c = new byte[CHUNK];
        if (kind == 0) {
          // zeros: a hole
        } else if (kind < 4) {
          new Random(rnd.nextInt(6)).nextBytes(c); // one of a few contents shared across points and sources
        } else {
          rnd.nextBytes(c);
        }
        System.arraycopy(c, 0, content, i * CHUNK, CHUNK);
        if ((long) (i + 1) * CHUNK > SIZE) {
          Arrays.fill(content, (int) SIZE, content.length, (byte) 0);
        }
      }

      /** Writes a few chunks, or commits when all are written; returns true when done. */
      boolean advance() throws IOException {
        int n = 1 + rnd.nextInt(6);
        while (n-- > 0 && !toWrite.isEmpty()) {
          int i = toWrite.removeLast();
          int len = (int) Math.min(CHUNK, SIZE - (long) i * CHUNK);
          ByteBuffer data = ByteBuffer.wrap(content, i * CHUNK, len).slice();
          if (isZero(Arrays.copyOfRange(content, i * CHUNK, i * CHUNK + len))) {
            writer.clear(i);
          } else {
            ChunkId id = repo.chunkId(data);
            sink.add(id, data);
            writer.set(i, id, len);
          }
          if (rnd.nextInt(8) == 0) {
            sink.flush();
          }
        }
        if (!toWrite.isEmpty()) {
          return false;
        }
        lock.ensureHeld();
        PointInfo info = writer.commit(new PointMeta(source, "volume", null, null, clock.instant(), List.of(),
            SIZE), sink);
        close(true);
        points.put(info.id(), content);
        sourceOf.put(info.id(), source);
        if (gcsSeen > 0) {
          committedAcrossGc++;
        }
        return true;
      }

      /** Kills the process: no commit, the lock stays behind until it goes stale. */
      Backup kill() throws IOException {
        if (rnd.nextBoolean()) {
          sink.close(); // some chunks made it into packs and an index
        }
        repo.close();
        return this;
      }

      private void close(boolean release) throws IOException {
        sink.close();
        if (baseReader != null) {
          baseReader.close();
        }
        repo.close();
        if (release) {
          lock.close();
        }
      }
    }
  }
}
