package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link CachingStore} caches, when it serves a copy, and when it drops one. */
final class CachingStoreTest {
  @TempDir Path dir;

  /** Forwards to a real store and counts the whole-object reads that reach it. */
  private static final class CountingStore extends ForwardingObjectStore {
    final AtomicInteger gets = new AtomicInteger();

    CountingStore(ObjectStore inner) {
      super(inner);
    }

    @Override
    public byte[] get(String key) throws IOException {
      gets.incrementAndGet();
      return delegate.get(key);
    }

    @Override
    public byte[] get(String key, long offset, int length) throws IOException {
      gets.incrementAndGet();
      return delegate.get(key, offset, length);
    }
  }

  private CountingStore remote() throws IOException {
    return new CountingStore(DirectoryStore.open(dir.resolve("repo")));
  }

  private CachingStore cache(ObjectStore remote, long maxBytes) throws IOException {
    return CachingStore.open(remote, dir.resolve("cache"), maxBytes);
  }

  @Test
  void aReopenedRepositoryReadsItsIndexesFromTheCache() throws IOException {
    try (CachingStore c = cache(remote(), 1 << 20)) {
      c.putIfAbsent("config", utf8("config v1"));
      for (int i = 0; i < 20; i++) {
        c.putIfAbsent("index/i" + i, utf8("index " + i));
      }
      c.putIfAbsent("data/00/pack", ByteBuffer.allocate(1000));
    }
    CountingStore remote = remote();
    try (CachingStore c = cache(remote, 1 << 20)) {
      List<String> keys = new java.util.ArrayList<>();
      c.list("index/", i -> keys.add(i.key()));   // as Repository.open does: the listing verifies the copies
      for (String k : keys) {
        assertThat(new String(c.get(k), StandardCharsets.UTF_8)).startsWith("index ");
      }
      assertThat(new String(c.get("config"), StandardCharsets.UTF_8)).isEqualTo("config v1");   // one stat, no get
      assertThat(remote.gets).hasValue(0);
      c.get("data/00/pack");
      c.get("data/00/pack");
      assertThat(remote.gets).as("packs are not cached").hasValue(2);
      assertThat(c.get("index/i3", 2, 3)).isEqualTo("dex".getBytes(StandardCharsets.UTF_8));
      assertThat(remote.gets).hasValue(2);
    }
  }

  @Test
  void anObjectDeletedElsewhereIsDroppedWhenTheListingLacksIt() throws IOException {
    try (CachingStore c = cache(remote(), 1 << 20)) {
      c.putIfAbsent("index/a", utf8("a"));
      c.putIfAbsent("index/b", utf8("b"));
    }
    try (DirectoryStore other = DirectoryStore.open(dir.resolve("repo"))) {
      other.delete("index/a");   // gc in another process
    }
    try (CachingStore c = cache(remote(), 1 << 20)) {
      c.list("index/", i -> {});
      assertThatThrownBy(() -> c.get("index/a")).isInstanceOf(NoSuchObjectException.class);
      assertThat(c.get("index/b")).isEqualTo(new byte[] {'b'});
    }
    // Also without a listing: an unverified copy is checked with a stat before it is served.
    try (CachingStore c = cache(remote(), 1 << 20)) {
      try (DirectoryStore other = DirectoryStore.open(dir.resolve("repo"))) {
        other.delete("index/b");
      }
      assertThatThrownBy(() -> c.get("index/b")).isInstanceOf(NoSuchObjectException.class);
    }
  }

  @Test
  void aRepositoryMadeAgainAtTheSameLocationIsNotReadFromTheOldCopies() throws Exception {
    try (CachingStore c = cache(remote(), 1 << 20)) {
      c.putIfAbsent("config", utf8("repository A"));
      assertThat(c.get("config")).isEqualTo("repository A".getBytes(StandardCharsets.UTF_8));
    }
    try (DirectoryStore other = DirectoryStore.open(dir.resolve("repo"))) {
      other.delete("config");
      Thread.sleep(20);   // a later modification time (not a timing assertion: only makes the times differ)
      other.putIfAbsent("config", utf8("repository B"));   // same size, other bytes
    }
    try (CachingStore c = cache(remote(), 1 << 20)) {
      assertThat(new String(c.get("config"), StandardCharsets.UTF_8)).isEqualTo("repository B");
    }
  }

  @Test
  void aDamagedCopyIsDroppedAndFetchedAgain() throws IOException {
    try (CachingStore c = cache(remote(), 1 << 20)) {
      c.putIfAbsent("points/p1", utf8("manifest of p1"));
    }
    Path copy;
    try (Stream<Path> files = Files.list(dir.resolve("cache"))) {
      copy = files.filter(p -> p.getFileName().toString().startsWith("o-")).findFirst().orElseThrow();
    }
    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, ch.size() - 8);
      b.put(0, (byte) (b.get(0) ^ 0x40));
      ch.write(b.flip(), ch.size() - 8);
    }
    CountingStore remote = remote();
    try (CachingStore c = cache(remote, 1 << 20)) {
      assertThat(new String(c.get("points/p1"), StandardCharsets.UTF_8)).isEqualTo("manifest of p1");
      assertThat(remote.gets).hasValue(1);
      assertThat(new String(c.get("points/p1"), StandardCharsets.UTF_8)).isEqualTo("manifest of p1");
      assertThat(remote.gets).as("fetched once, then cached again").hasValue(1);
    }
    // Garbage in the directory is dropped when the cache opens.
    Files.write(dir.resolve("cache").resolve("o-garbage"), new byte[] {1, 2, 3});
    try (CachingStore c = cache(remote(), 1 << 20)) {
      assertThat(dir.resolve("cache").resolve("o-garbage")).doesNotExist();
    }
  }

  @Test
  void theCacheStaysWithinItsBoundDroppingTheLeastRecentlyUsed() throws IOException {
    long bound = 64 * 1024;
    CountingStore remote = remote();
    try (CachingStore c = cache(remote, bound)) {
      for (int i = 0; i < 40; i++) {
        c.putIfAbsent("index/i" + i, ByteBuffer.allocate(4000));
        c.get("index/i0");   // keeps i0 recently used
      }
      assertThat(cacheBytes()).isLessThanOrEqualTo(bound);
      int before = remote.gets.get();
      c.get("index/i0");
      c.get("index/i39");
      assertThat(remote.gets).hasValue(before);
      c.get("index/i1");
      assertThat(remote.gets).as("the oldest was evicted").hasValue(before + 1);
    }
  }

  private long cacheBytes() throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve("cache"))) {
      return files.filter(p -> p.getFileName().toString().startsWith("o-")).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static ByteBuffer utf8(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }
}
