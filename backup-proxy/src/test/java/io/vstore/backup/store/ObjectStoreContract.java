package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link ObjectStore} must do, run against each implementation by a subclass that says
 * how to open a fresh, empty store. Failures name the seed where data is random.
 */
public abstract class ObjectStoreContract {
  private static final boolean CI = "true".equals(System.getenv("CI"));

  /** The store under test, fresh and empty for each test. */
  protected ObjectStore store;

  /** Opens a fresh, empty store; called before each test. */
  protected abstract ObjectStore openStore() throws IOException;

  /** Removes what the test left (a store in a shared bucket deletes its objects); default nothing. */
  protected void cleanUp(ObjectStore s) throws IOException {}

  @BeforeEach
  final void openFreshStore() throws IOException {
    store = openStore();
  }

  @AfterEach
  final void closeStore() throws IOException {
    try {
      cleanUp(store);
    } finally {
      store.close();
    }
  }

  @Test
  void putThenGetReturnsTheBytesWithoutMovingTheBuffer() throws IOException {
    byte[] bytes = random(1, 4097);
    ByteBuffer heap = ByteBuffer.wrap(bytes);
    assertThat(store.putIfAbsent("a/heap", heap)).isTrue();
    assertThat(heap.position()).isZero();
    assertThat(store.get("a/heap")).isEqualTo(bytes);

    // A slice of a larger array (array offset not zero) and a direct buffer.
    ByteBuffer slice = ByteBuffer.wrap(random(2, 9000)).position(100).limit(5100).slice();
    assertThat(store.putIfAbsent("a/slice", slice)).isTrue();
    assertThat(store.get("a/slice")).isEqualTo(toArray(slice));
    ByteBuffer direct = ByteBuffer.allocateDirect(3000).put(random(3, 3000)).flip().position(7);
    assertThat(store.putIfAbsent("a/direct", direct)).isTrue();
    assertThat(direct.position()).isEqualTo(7);
    assertThat(store.get("a/direct")).isEqualTo(toArray(direct));

    assertThat(store.putIfAbsent("a/empty", ByteBuffer.allocate(0))).isTrue();
    assertThat(store.get("a/empty")).isEmpty();
    assertThat(store.stat("a/empty")).map(ObjectInfo::size).contains(0L);
    assertThat(store.stat("a/heap")).map(ObjectInfo::size).contains(4097L);
  }

  @Test
  void aPutNeverReplacesAnObject() throws IOException {
    assertThat(store.putIfAbsent("points/p1", utf8("first"))).isTrue();
    assertThat(store.putIfAbsent("points/p1", utf8("second"))).isFalse();
    assertThat(store.putIfAbsent("points/p1", utf8("first"))).isFalse();
    assertThat(new String(store.get("points/p1"), StandardCharsets.UTF_8)).isEqualTo("first");
  }

  @Test
  void racingPutsOfOneKeyHaveExactlyOneWinner() throws Exception {
    int threads = 8;
    int rounds = CI ? 6 : 12;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < rounds; round++) {
        String key = "locks/race-" + round;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        List<byte[]> bodies = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          byte[] body = ("writer " + t + " of round " + round + " ").repeat(1 + t * 300).getBytes(StandardCharsets.UTF_8);
          bodies.add(body);
          results.add(pool.submit(() -> {
            start.await();
            return store.putIfAbsent(key, ByteBuffer.wrap(body));
          }));
        }
        start.countDown();
        List<Integer> winners = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          if (results.get(t).get()) {
            winners.add(t);
          }
        }
        assertThat(winners).as("winners of round %d", round).hasSize(1);
        assertThat(store.get(key)).as("stored bytes of round %d", round).isEqualTo(bodies.get(winners.get(0)));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void readersSeeAllOfAnObjectOrNoneOfIt() throws Exception {
    byte[] big = random(4, 6 * 1024 * 1024 + 13);
    AtomicBoolean written = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Integer>> readers = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        readers.add(pool.submit(() -> {
          int partialOrFull = 0;
          while (true) {
            boolean done = written.get();
            Optional<ObjectInfo> info = store.stat("data/00/big");
            info.ifPresent(i -> assertThat(i.size()).as("size seen by stat").isEqualTo(big.length));
            try {
              byte[] seen = store.get("data/00/big");
              assertThat(seen.length).as("length seen by get").isEqualTo(big.length);
              assertThat(seen).isEqualTo(big);
              partialOrFull++;
            } catch (NoSuchObjectException e) {
              assertThat(done).as("object missing after its put returned").isFalse();
            }
            if (done) {
              return partialOrFull;
            }
          }
        }));
      }
      assertThat(store.putIfAbsent("data/00/big", ByteBuffer.wrap(big))).isTrue();
      written.set(true);
      for (Future<Integer> r : readers) {
        assertThat(r.get()).isPositive();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void rangedGetsReturnExactlyTheRangeAndFailPastTheEnd() throws IOException {
    byte[] bytes = random(5, 10_000);
    store.putIfAbsent("index/i1", ByteBuffer.wrap(bytes));
    assertThat(store.get("index/i1", 0, 10)).isEqualTo(slice(bytes, 0, 10));
    assertThat(store.get("index/i1", 1234, 4321)).isEqualTo(slice(bytes, 1234, 4321));
    assertThat(store.get("index/i1", 9_999, 1)).isEqualTo(slice(bytes, 9_999, 1));
    assertThat(store.get("index/i1", 0, 10_000)).isEqualTo(bytes);
    assertThat(store.get("index/i1", 10_000, 0)).isEmpty();
    assertThat(store.get("index/i1", 500, 0)).isEmpty();

    assertThatThrownBy(() -> store.get("index/i1", 9_999, 2)).isInstanceOf(EOFException.class)
        .hasMessageContaining("index/i1").hasMessageContaining("10000");
    assertThatThrownBy(() -> store.get("index/i1", 10_000, 1)).isInstanceOf(EOFException.class)
        .hasMessageContaining("index/i1");
    assertThatThrownBy(() -> store.get("index/i1", 20_000, 5)).isInstanceOf(EOFException.class);
    assertThatThrownBy(() -> store.get("index/i1", 10_001, 0)).isInstanceOf(EOFException.class);
    assertThatThrownBy(() -> store.get("index/i1", -1, 5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.get("index/i1", 0, -5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.get("index/none", 0, 5)).isInstanceOf(NoSuchObjectException.class)
        .hasMessageContaining("index/none").hasMessageContaining(store.toString());
    assertThatThrownBy(() -> store.get("index/none", 0, 0)).isInstanceOf(NoSuchObjectException.class);
  }

  @Test
  void largeObjectsRoundTrip() throws IOException {
    byte[] big = random(6, 17 * 1024 * 1024 + 3);
    assertThat(store.putIfAbsent("data/ab/pack", ByteBuffer.wrap(big))).isTrue();
    assertThat(store.stat("data/ab/pack")).map(ObjectInfo::size).contains((long) big.length);
    assertThat(store.get("data/ab/pack")).isEqualTo(big);
    int at = 16 * 1024 * 1024 - 100;
    assertThat(store.get("data/ab/pack", at, 1 << 20)).isEqualTo(slice(big, at, 1 << 20));
    assertThat(store.get("data/ab/pack", big.length - 7, 7)).isEqualTo(slice(big, big.length - 7, 7));
  }

  @Test
  void listingFollowsPrefixesAndReportsSizes() throws IOException {
    Map<String, Integer> sizes = new TreeMap<>(Map.of("a/1", 1, "a/2", 22, "a/sub/x", 333, "ab", 4, "b/c/d", 5, "abc/e", 6));
    for (var e : sizes.entrySet()) {
      store.putIfAbsent(e.getKey(), ByteBuffer.allocate(e.getValue()));
    }
    assertThat(listed("")).isEqualTo(sizes);
    assertThat(listed("a/").keySet()).containsExactly("a/1", "a/2", "a/sub/x");
    assertThat(listed("a").keySet()).containsExactly("a/1", "a/2", "a/sub/x", "ab", "abc/e");
    assertThat(listed("ab").keySet()).containsExactly("ab", "abc/e");
    assertThat(listed("a/sub/").keySet()).containsExactly("a/sub/x");
    assertThat(listed("b/c/d").keySet()).containsExactly("b/c/d");
    assertThat(listed("zz")).isEmpty();
    assertThat(listed("nothing/here/")).isEmpty();
  }

  @Test
  void listingManyObjectsSeesEachOnce() throws Exception {
    int n = 1_100;   // more than one page of an S3 listing (1,000 keys)
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> puts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String key = String.format("many/%02x/obj-%05d", i % 7, i);
        int size = i % 13;
        puts.add(pool.submit(() -> store.putIfAbsent(key, ByteBuffer.allocate(size))));
      }
      puts.add(pool.submit(() -> store.putIfAbsent("manx", ByteBuffer.allocate(1))));
      for (Future<Boolean> f : puts) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
    Map<String, Integer> seen = new HashMap<>();
    store.list("many/", info -> seen.merge(info.key(), 1, Integer::sum));
    assertThat(seen).hasSize(n);
    assertThat(seen.values()).allMatch(c -> c == 1);
    assertThat(seen).containsKey("many/03/obj-01095");
    ConcurrentHashMap<String, Long> sized = new ConcurrentHashMap<>();
    store.list("many/05/", info -> sized.put(info.key(), info.size()));
    assertThat(sized).hasSize((int) java.util.stream.IntStream.range(0, n).filter(i -> i % 7 == 5).count());
    assertThat(sized.get("many/05/obj-00005")).isEqualTo(5L);
  }

  @Test
  void deleteIsIdempotentAndAKeyCanBeWrittenAgain() throws IOException {
    store.putIfAbsent("locks/l1", utf8("mine"));
    store.delete("locks/l1");
    store.delete("locks/l1");
    store.delete("locks/never-was");
    assertThat(store.stat("locks/l1")).isEmpty();
    assertThat(listed("locks/")).isEmpty();
    assertThatThrownBy(() -> store.get("locks/l1")).isInstanceOf(NoSuchObjectException.class)
        .hasMessageContaining("locks/l1").hasMessageContaining(store.toString());
    assertThat(store.putIfAbsent("locks/l1", utf8("again"))).isTrue();
    assertThat(new String(store.get("locks/l1"), StandardCharsets.UTF_8)).isEqualTo("again");
  }

  @Test
  void badKeysAreRefusedBeforeAnythingIsStored() throws IOException {
    List<String> bad = new ArrayList<>(List.of("", "/a", "a/", "a//b", "A", "a/B", "a b", "a/../b", "..", ".",
        "a/./b", "key\u00e9", "a\\b", "x".repeat(ObjectKeys.MAX_SEGMENT_LENGTH + 1),
        String.join("/", "y".repeat(ObjectKeys.MAX_SEGMENT_LENGTH), "y".repeat(ObjectKeys.MAX_SEGMENT_LENGTH),
            "y".repeat(ObjectKeys.MAX_SEGMENT_LENGTH))));
    for (String key : bad) {
      assertThatThrownBy(() -> store.putIfAbsent(key, utf8("x"))).as(key).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> store.get(key)).as(key).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> store.get(key, 0, 1)).as(key).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> store.stat(key)).as(key).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> store.delete(key)).as(key).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> store.list("A/", i -> {})).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> store.list("a//", i -> {})).isInstanceOf(IllegalArgumentException.class);
    String longest = "x".repeat(ObjectKeys.MAX_SEGMENT_LENGTH) + "/" + "y".repeat(ObjectKeys.MAX_SEGMENT_LENGTH) + "/"
        + "z".repeat(ObjectKeys.MAX_LENGTH - 2 * ObjectKeys.MAX_SEGMENT_LENGTH - 2);
    assertThat(longest).hasSize(ObjectKeys.MAX_LENGTH);
    assertThat(store.putIfAbsent(longest, utf8("longest"))).isTrue();
    assertThat(store.get(longest)).isEqualTo("longest".getBytes(StandardCharsets.UTF_8));
    assertThat(listed("")).containsOnlyKeys(longest);
  }

  @Test
  void aClosedStoreRefusesWork() throws IOException {
    store.putIfAbsent("config", utf8("c"));
    store.close();
    store.close();
    assertThatThrownBy(() -> store.get("config")).isInstanceOf(AlreadyClosedException.class)
        .hasMessageContaining(store.toString());
    assertThatThrownBy(() -> store.putIfAbsent("x", utf8("x"))).isInstanceOf(AlreadyClosedException.class);
    assertThatThrownBy(() -> store.list("", i -> {})).isInstanceOf(AlreadyClosedException.class);
    store = openStore();   // so that cleanUp can run
    store.delete("config");
  }

  /** Returns the listing under {@code prefix}: key to size. */
  protected Map<String, Integer> listed(String prefix) throws IOException {
    Map<String, Integer> m = new TreeMap<>();
    store.list(prefix, info -> {
      if (m.put(info.key(), Math.toIntExact(info.size())) != null) {
        throw new AssertionError("listed twice: " + info.key());
      }
    });
    return m;
  }

  /** Deletes every object of {@code s} (for subclasses whose stores share a bucket). */
  protected static void deleteAll(ObjectStore s) throws IOException {
    List<String> keys = new ArrayList<>();
    s.list("", info -> keys.add(info.key()));
    for (String k : keys) {
      s.delete(k);
    }
  }

  static byte[] random(long seed, int length) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  static ByteBuffer utf8(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] slice(byte[] b, int from, int length) {
    return java.util.Arrays.copyOfRange(b, from, from + length);
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  static Set<String> keys(ObjectStore s, String prefix) throws IOException {
    Set<String> keys = new java.util.TreeSet<>();
    s.list(prefix, i -> keys.add(i.key()));
    return keys;
  }
}
