package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Locations that name a directory, and S3 locations that are malformed or lack settings. */
final class ObjectStoresTest {
  @TempDir Path dir;

  @Test
  void aPathIsADirectoryStore() throws IOException {
    try (ObjectStore s = ObjectStores.open(dir.resolve("repo").toString(), Map.of())) {
      assertThat(s).isInstanceOf(DirectoryStore.class);
      assertThat(s.toString()).isEqualTo(dir.resolve("repo").toString());
    }
  }

  @Test
  void s3LocationsParse() {
    assertThat(S3Location.parse("s3://bucket")).isEqualTo(new S3Location("bucket", ""));
    assertThat(S3Location.parse("s3://bucket/")).isEqualTo(new S3Location("bucket", ""));
    assertThat(S3Location.parse("s3://my.bucket-1/backups/Prod_VMs/")).isEqualTo(new S3Location("my.bucket-1", "backups/Prod_VMs"));
    assertThat(S3Location.parse("S3://bucket/p").toString()).isEqualTo("s3://bucket/p");
    assertThat(new S3Location("bucket", "a/b").objectKey("index/x")).isEqualTo("a/b/index/x");
    assertThat(new S3Location("bucket", "").objectKey("index/x")).isEqualTo("index/x");
  }

  @Test
  void malformedLocationsAreOneLineErrors() {
    for (String bad : new String[] {"s3://", "s3://ab", "s3://Bucket/x", "s3://bucket//x", "s3://bucket/a/../b",
        "s3://-bucket", "s3://bucket/a b", "s3://bucket/%41"}) {
      assertThatThrownBy(() -> ObjectStores.open(bad, Map.of())).as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("bad S3 location " + bad)
          .message().doesNotContain("\n");
    }
    assertThatThrownBy(() -> ObjectStores.open("ftp://host/x", Map.of())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unsupported repository location");
    assertThatThrownBy(() -> ObjectStores.open("", Map.of())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void missingSettingsNameTheVariable() {
    assertThatThrownBy(() -> ObjectStores.open("s3://bucket/x", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("VSTORE_S3_ENDPOINT is not set");
    assertThatThrownBy(() -> ObjectStores.open("s3://bucket/x", Map.of("VSTORE_S3_ENDPOINT", "http://127.0.0.1:1")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("AWS_ACCESS_KEY_ID is not set");
    assertThatThrownBy(() -> ObjectStores.open("s3://bucket/x", Map.of("VSTORE_S3_ENDPOINT", "127.0.0.1:7480",
        "AWS_ACCESS_KEY_ID", "k", "AWS_SECRET_ACCESS_KEY", "s")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be an http:// or https:// URL");
  }

  @Test
  void settingsNeverShowTheSecret() {
    S3Settings s = S3Settings.fromEnvironment(Map.of("VSTORE_S3_ENDPOINT", "http://127.0.0.1:7480",
        "AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "very-secret-value"));
    assertThat(s.toString()).contains("AKID").doesNotContain("very-secret-value");
    assertThat(s.region()).isEqualTo("us-east-1");
  }
}
