package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link S3Store} in a versioned bucket passes the store contract; a delete leaves the data as a
 * noncurrent version, and a key whose latest version is a delete marker can be written again.
 */
@Tag("slow")   // about a minute on RGW
final class S3VersionedBucketContractTest extends S3StoreContractTest {
  private static String versionedBucket;

  @BeforeAll
  static void createVersionedBucket() {
    versionedBucket = CephRgw.server().createBucket(CephRgw.BucketKind.VERSIONED, 0);
  }

  @Override
  String bucket() {
    return versionedBucket;
  }

  @Test
  void deleteLeavesANoncurrentVersionAndTheKeyCanBeWrittenAgain() throws IOException {
    S3Store s3 = (S3Store) store;
    assertThat(s3.versioned()).isTrue();
    assertThat(s3.objectLocked()).isFalse();
    store.putIfAbsent("points/p", utf8("one"));
    store.delete("points/p");
    assertThat(store.stat("points/p")).isEmpty();
    String key = s3.location().objectKey("points/p");
    var versions = CephRgw.server().admin().listObjectVersions(b -> b.bucket(versionedBucket).prefix(key));
    assertThat(versions.versions()).hasSize(1);
    assertThat(versions.deleteMarkers()).hasSize(1);
    assertThat(store.putIfAbsent("points/p", utf8("two"))).isTrue();
    assertThat(store.putIfAbsent("points/p", ByteBuffer.wrap(new byte[] {3}))).isFalse();
    assertThat(new String(store.get("points/p"), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("two");
  }
}
