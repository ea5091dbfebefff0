package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link S3Store} in a bucket created with S3 Object Lock (default retention one day, governance
 * mode) on a real Ceph RGW: objects are never replaced, racing writers have one winner, and a
 * delete of a retained object is refused with a message naming the key and the retention.
 */
@ExtendWith(CephRgw.class)
final class S3ObjectLockTest {
  private static String bucket;
  private static int prefixes;
  private S3Store store;

  @BeforeAll
  static void createBucket() {
    bucket = CephRgw.server().createBucket(CephRgw.BucketKind.OBJECT_LOCKED, 1);
  }

  @BeforeEach
  void open() throws IOException {
    store = S3Store.open(new S3Location(bucket, "locked" + (++prefixes)), CephRgw.server().settings());
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void theStoreKnowsTheBucketIsLockedAndNeverReplacesAnObject() throws IOException {
    assertThat(store.objectLocked()).isTrue();
    assertThat(store.versioned()).isTrue();
    assertThat(store.putIfAbsent("points/p1", utf8("first"))).isTrue();
    assertThat(store.putIfAbsent("points/p1", utf8("second"))).isFalse();
    assertThat(new String(store.get("points/p1"), StandardCharsets.UTF_8)).isEqualTo("first");
    var versions = CephRgw.server().admin().listObjectVersions(b -> b.bucket(bucket)
        .prefix(store.location().objectKey("points/p1")));
    assertThat(versions.versions()).hasSize(1);
  }

  @Test
  void deletingARetainedObjectFailsNamingTheKeyAndTheRetention() throws IOException {
    store.putIfAbsent("data/00/pack", ByteBuffer.wrap(ObjectStoreContract.random(9, 100_000)));
    assertThatThrownBy(() -> store.delete("data/00/pack"))
        .isInstanceOf(ObjectLockedException.class)
        .hasMessageContaining(store.toString())
        .hasMessageContaining("data/00/pack")
        .hasMessageContaining("GOVERNANCE")
        .hasMessageContaining("until")
        .hasNoCause()
        .message().doesNotContain("\n");
    assertThat(store.get("data/00/pack")).isEqualTo(ObjectStoreContract.random(9, 100_000));
    store.delete("data/00/never-written");   // nothing to keep: no error
  }

  @Test
  void racingWritersOfOneKeyHaveOneWinnerAndTheLosersLeaveNoVersion() throws Exception {
    int threads = 6;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (int round = 0; round < 4; round++) {
        String key = "locks/race-" + round;
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Boolean>> results = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          byte[] body = ("writer " + t).getBytes(StandardCharsets.UTF_8);
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
        assertThat(new String(store.get(key), StandardCharsets.UTF_8)).isEqualTo("writer " + winners.get(0));
        var versions = CephRgw.server().admin().listObjectVersions(b -> b.bucket(bucket)
            .prefix(store.location().objectKey(key)));
        assertThat(versions.versions()).as("versions left in round %d", round).hasSize(1);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static ByteBuffer utf8(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }
}
