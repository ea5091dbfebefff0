package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@link ObjectStores#open} with {@code s3://} locations on a real Ceph RGW. */
@ExtendWith(CephRgw.class)
final class S3ObjectStoresTest {
  @TempDir Path dir;

  private Map<String, String> env() {
    Map<String, String> env = new HashMap<>(CephRgw.server().environment());
    env.put("XDG_CACHE_HOME", dir.resolve("cache").toString());
    return env;
  }

  @Test
  void anS3LocationIsAnS3StoreBehindACacheThatAReopenUses() throws IOException {
    String bucket = CephRgw.server().createBucket(CephRgw.BucketKind.PLAIN, 0);
    String location = "s3://" + bucket + "/site-a/repo";
    try (ObjectStore s = ObjectStores.open(location, env())) {
      assertThat(s).isInstanceOf(CachingStore.class);
      assertThat(((CachingStore) s).remote()).isInstanceOf(S3Store.class);
      assertThat(s.toString()).isEqualTo(location);
      s.putIfAbsent("config", ByteBuffer.wrap("cfg".getBytes(StandardCharsets.UTF_8)));
      s.putIfAbsent("index/0001", ByteBuffer.wrap("idx".getBytes(StandardCharsets.UTF_8)));
    }
    try (ObjectStore s = ObjectStores.open(location, env())) {
      s.list("index/", i -> {});
      assertThat(s.get("index/0001")).isEqualTo("idx".getBytes(StandardCharsets.UTF_8));
      assertThat(s.get("config")).isEqualTo("cfg".getBytes(StandardCharsets.UTF_8));
      assertThat(((CachingStore) s).hitsAndMisses()).containsExactly(2, 0);
    }
    Map<String, String> noCache = env();
    noCache.put("VSTORE_BACKUP_CACHE", "off");
    try (ObjectStore s = ObjectStores.open(location, noCache)) {
      assertThat(s).isInstanceOf(S3Store.class);
      assertThat(ObjectStoreContract.keys(s, "")).containsExactly("config", "index/0001");
    }
  }

  @Test
  void aMissingBucketIsOneLineNamingIt() {
    assertThatThrownBy(() -> ObjectStores.open("s3://no-such-bucket-here/x", env()))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("s3://no-such-bucket-here/x: no bucket 'no-such-bucket-here' at "
            + CephRgw.server().settings().endpoint())
        .message().doesNotContain("\n");
  }

  @Test
  void wrongKeysAreDeniedWithoutShowingTheSecret() {
    String bucket = CephRgw.server().createBucket(CephRgw.BucketKind.PLAIN, 0);
    Map<String, String> env = env();
    env.put("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    assertThatThrownBy(() -> ObjectStores.open("s3://" + bucket, env))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("access to bucket '" + bucket + "' denied")
        .message().doesNotContain("not-the-secret").doesNotContain("\n");
  }

  @Test
  void anUnreachableEndpointIsOneLine() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();   // closed again: nothing listens there
    }
    Map<String, String> env = env();
    env.put("VSTORE_S3_ENDPOINT", "http://127.0.0.1:" + port);
    assertThatThrownBy(() -> ObjectStores.open("s3://bucket/x", env))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("s3://bucket/x: cannot reach http://127.0.0.1:" + port)
        .message().doesNotContain("\n");
  }
}
