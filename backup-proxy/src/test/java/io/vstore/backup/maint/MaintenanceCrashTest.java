package io.vstore.backup.maint;

import io.vstore.backup.store.ForwardingObjectStore;
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
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prune or gc killed after each possible number of writes (a store that stops taking writes, as
 * kill -9 would stop the process), from one prepared repository: afterwards check is clean, every
 * point that is left reads back as before, and later gcs finish the work and leave no garbage.
 */
final class MaintenanceCrashTest {
  private static final int CHUNK = RepositoryOptions.MIN_CHUNK;
  private static final KeySource KEY = new KeySource.Passphrase("crash".toCharArray());
  private static final Duration INTERVAL = Duration.ofSeconds(60);

  @TempDir Path tmp;
  private Path template;
  private Map<String, List<String>> before;
  private final MutableClock clock = new MutableClock(Instant.parse("2031-01-01T00:00:00Z"));
  private int processes;

  private static RepositoryOptions options() {
    return RepositoryOptions.defaults().withChunkSize(CHUNK).withArgon2(Argon2Params.TESTING)
        .withPackTargetBytes(40 * 1024);
  }

  private RepositoryLocks locks(ObjectStore s) {
    int n = ++processes;
    return new RepositoryLocks(s, new ProcessIdentity("crash-host-" + n, "crash" + n, 100 + n, 1), clock, INTERVAL);
  }

  /** Eight points of two sources, the older ones pruned in two steps around a gc: the next gc collects and marks. */
  @BeforeEach
  void prepare() throws Exception {
    template = Files.createDirectory(tmp.resolve("template"));
    Random rnd = new Random(7);
    try (ObjectStore store = DirectoryStore.open(template); Repository repo = Repository.init(store, KEY, options())) {
      for (int n = 0; n < 8; n++) {
        String source = "vol" + (n % 2);
        PointWriter w = repo.newPoint(10L * CHUNK, null);
        try (ChunkSink sink = repo.openSink()) {
          for (int i = 0; i < 10; i++) {
            byte[] b = new byte[CHUNK];
            new Random(rnd.nextInt(25)).nextBytes(b);
            ChunkId id = repo.chunkId(ByteBuffer.wrap(b));
            sink.add(id, ByteBuffer.wrap(b));
            w.set(i, id, CHUNK);
          }
          w.commit(new PointMeta(source, "volume", null, null, Instant.parse("2026-02-01T00:00:00Z").plusSeconds(
              3600L * n), List.of(), 0), sink);
        }
      }
      new Pruner(repo, locks(store), ZoneOffset.UTC).prune(new RetentionOptions(3, 0, 0, 0, 0, 0, null), null, false);
      new GarbageCollector(repo, locks(store), clock).run(false);
      new Pruner(repo, locks(store), ZoneOffset.UTC).prune(new RetentionOptions(2, 0, 0, 0, 0, 0, null), null, false);
    }
    before = contents(template);
    assertThat(before).hasSize(4);
  }

  @Test
  void gcKilledAfterAnyWriteLeavesACleanRepositoryThatLaterGcsFinish() throws Exception {
    int total = writesOf(dir -> gc(dir, Integer.MAX_VALUE));
    assertThat(total).as("writes of an uninterrupted gc").isGreaterThan(5);
    int stride = System.getenv("CI") != null ? 3 : 1;
    for (int k = 0; k < total; k += stride) {
      Path dir = copy(k);
      boolean crashed = gc(dir, k);
      assertThat(crashed).as("gc with %d of %d writes", k, total).isTrue();
      assertIntact(dir, "after a gc killed after " + k + " writes");
      clock.advance(INTERVAL.multipliedBy(3)); // the killed gc's lock goes stale
      for (int i = 0; i < 3; i++) {
        gc(dir, Integer.MAX_VALUE);
        assertIntact(dir, "after gc " + (i + 1) + " following a kill after " + k + " writes");
      }
      try (ObjectStore store = DirectoryStore.open(dir)) {
        int[] left = {0};
        store.list("gc/", o -> left[0]++);
        assertThat(left[0]).as("gc objects left after a kill after %d writes and three gcs", k).isZero();
      }
    }
  }

  @Test
  void pruneKilledAfterAnyWriteLeavesACleanRepository() throws Exception {
    int total = writesOf(dir -> prune(dir, Integer.MAX_VALUE));
    assertThat(total).as("writes of an uninterrupted prune: a lock, two deletions, the lock released").isEqualTo(4);
    for (int k = 0; k < total; k++) {
      Path dir = copy(1000 + k);
      assertThat(prune(dir, k)).isTrue();
      Map<String, List<String>> after = contents(dir);
      assertThat(before.keySet()).containsAll(after.keySet());
      assertThat(after).as("points left after a prune killed after %d writes", k).allSatisfy((id, chunks) ->
          assertThat(chunks).isEqualTo(before.get(id)));
      assertIntact(dir, "after a prune killed after " + k + " writes", after);
    }
  }

  private interface Action {
    boolean run(Path dir) throws Exception;
  }

  /** Returns how many writes the action makes when nothing fails. */
  private int writesOf(Action action) throws Exception {
    Path dir = copy(-1);
    counting = 0;
    counter = true;
    try {
      action.run(dir);
    } finally {
      counter = false;
    }
    return counting;
  }

  private boolean counter;
  private int counting;

  /** Runs a gc that dies after {@code writes} writes; returns true if it died. */
  private boolean gc(Path dir, int writes) throws IOException {
    try (ObjectStore base = DirectoryStore.open(dir)) {
      CountingStore s = new CountingStore(base, writes);
      try (Repository repo = Repository.open(s, KEY, options())) {
        new GarbageCollector(repo, locks(s), clock).run(false);
      } catch (IOException e) {
        assertThat(s.failed()).as("gc failed without an injected crash: %s", e).isTrue();
      }
      if (counter) {
        counting = s.writes;
      }
      return s.failed();
    }
  }

  private boolean prune(Path dir, int writes) throws IOException {
    try (ObjectStore base = DirectoryStore.open(dir)) {
      CountingStore s = new CountingStore(base, writes);
      try (Repository repo = Repository.open(s, KEY, options())) {
        new Pruner(repo, locks(s), ZoneOffset.UTC).prune(new RetentionOptions(1, 0, 0, 0, 0, 0, null), null, false);
      } catch (IOException e) {
        assertThat(s.failed()).as("prune failed without an injected crash: %s", e).isTrue();
      }
      if (counter) {
        counting = s.writes;
      }
      return s.failed();
    }
  }

  private void assertIntact(Path dir, String when) throws IOException {
    assertIntact(dir, when, before);
  }

  private void assertIntact(Path dir, String when, Map<String, List<String>> expected) throws IOException {
    try (ObjectStore store = DirectoryStore.open(dir); Repository repo = Repository.open(store, KEY, options())) {
      assertThat(repo.check().problems()).as("check " + when).isEmpty();
    }
    assertThat(contents(dir)).as("points " + when).isEqualTo(expected);
  }

  /** Returns each point's chunks as SHA-256 digests of what they read back (null for a hole). */
  private static Map<String, List<String>> contents(Path dir) throws IOException {
    Map<String, List<String>> out = new TreeMap<>();
    try (ObjectStore store = DirectoryStore.open(dir); Repository repo = Repository.open(store, KEY, options())) {
      for (PointInfo p : repo.points()) {
        List<String> chunks = new ArrayList<>();
        try (PointReader r = repo.openPoint(p.id())) {
          for (long i = 0; i < r.chunkCount(); i++) {
            ChunkRef ref = r.chunk(i);
            chunks.add(ref == null ? null : sha256(repo.readChunk(ref.id())));
          }
        }
        out.put(p.id(), chunks);
      }
    }
    return out;
  }

  private static String sha256(ByteBuffer b) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(b);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private Path copy(int n) throws IOException {
    Path dir = tmp.resolve("run" + n);
    try (Stream<Path> files = Files.walk(template)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path to = dir.resolve(template.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(to);
        } else {
          Files.copy(p, to);
        }
      }
    }
    return dir;
  }

  /** A {@link FailingStore} that also counts the writes it let through. */
  private static final class CountingStore extends ForwardingObjectStore {
    private final FailingStore failing;
    int writes;

    CountingStore(ObjectStore base, int limit) {
      this(new FailingStore(base, limit));
    }

    private CountingStore(FailingStore failing) {
      super(failing);
      this.failing = failing;
    }

    boolean failed() {
      return failing.failed();
    }

    @Override
    public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
      boolean r = failing.putIfAbsent(key, data);
      writes++;
      return r;
    }

    @Override
    public void delete(String key) throws IOException {
      failing.delete(key);
      writes++;
    }

    @Override
    public void close() {}
  }
}
