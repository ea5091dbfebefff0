package io.vstore.backup.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.store.FaultyProxy.Fault;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link S3Store}'s retries and timeouts, with faults injected between it and a real Ceph RGW: lost
 * answers to puts that were written, transient 500s, persistent ones, a service that never answers.
 */
@ExtendWith(CephRgw.class)
final class S3RetryTest {
  private static String bucket;
  private static int prefixes;
  private FaultyProxy proxy;
  private S3Store store;

  @BeforeAll
  static void createBucket() {
    bucket = CephRgw.server().createBucket(CephRgw.BucketKind.PLAIN, 0);
  }

  @BeforeEach
  void open() throws IOException {
    S3Settings direct = CephRgw.server().settings();
    proxy = new FaultyProxy(direct.endpoint());
    S3Settings viaProxy = new S3Settings(proxy.endpoint(), direct.region(), direct.accessKeyId(),
        direct.secretAccessKey(), Duration.ofSeconds(5), Duration.ofSeconds(5), 4);
    store = S3Store.open(new S3Location(bucket, "retry" + (++prefixes)), viaProxy);
  }

  @AfterEach
  void close() throws IOException {
    store.close();
    proxy.close();
  }

  @Test
  void aPutWrittenButAnsweredWith500IsReportedAsWritten() throws IOException {
    proxy.inject(Fault.FORWARD_THEN_500);
    int before = proxy.requests();
    assertThat(store.putIfAbsent("locks/mine", utf8("holder 1"))).isTrue();
    assertThat(proxy.requests() - before).as("put, put again (412), read back").isEqualTo(3);
    assertThat(store.get("locks/mine")).isEqualTo("holder 1".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aPutWrittenWhoseConnectionBrokeIsReportedAsWritten() throws IOException {
    proxy.inject(Fault.FORWARD_THEN_DROP);
    assertThat(store.putIfAbsent("points/p", utf8("manifest"))).isTrue();
    assertThat(store.get("points/p")).isEqualTo("manifest".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aLostAnswerDoesNotMakeSomeoneElsesObjectOurs() throws IOException {
    assertThat(store.putIfAbsent("locks/taken", utf8("holder A"))).isTrue();
    proxy.inject(Fault.FORWARD_THEN_500);   // RGW answered 412; we saw a 500
    assertThat(store.putIfAbsent("locks/taken", utf8("holder B"))).isFalse();
    assertThat(store.get("locks/taken")).isEqualTo("holder A".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void transientErrorsAreRetried() throws IOException {
    store.putIfAbsent("index/i", utf8("index"));
    proxy.inject(Fault.ANSWER_500, Fault.FORWARD_THEN_DROP, Fault.ANSWER_500);
    int before = proxy.requests();
    assertThat(store.get("index/i")).isEqualTo("index".getBytes(StandardCharsets.UTF_8));
    assertThat(proxy.requests() - before).isEqualTo(4);
    proxy.inject(Fault.ANSWER_500);
    assertThat(store.get("index/i", 1, 3)).isEqualTo("nde".getBytes(StandardCharsets.UTF_8));
    proxy.inject(Fault.ANSWER_500);
    assertThat(store.stat("index/i")).isPresent();
    proxy.inject(Fault.ANSWER_500);
    assertThat(ObjectStoreContract.keys(store, "")).containsExactly("index/i");
    proxy.inject(Fault.ANSWER_500);
    store.delete("index/i");
    assertThat(store.stat("index/i")).isEmpty();
  }

  @Test
  void persistentErrorsFailAfterTheBoundedAttemptsNamingLocationAndKey() {
    proxy.always(Fault.ANSWER_500);
    int before = proxy.requests();
    assertThatThrownBy(() -> store.get("index/abc"))
        .isInstanceOf(IOException.class)
        .hasMessage(store + ": cannot read index/abc: InternalError (HTTP 500): injected (after 4 attempts)");
    assertThat(proxy.requests() - before).isEqualTo(4);
    assertThatThrownBy(() -> store.putIfAbsent("index/abc", utf8("x")))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(store + ": cannot store index/abc: InternalError (HTTP 500)");
  }

  @Test
  void clientErrorsAreNotRetried() {
    int before = proxy.requests();
    assertThatThrownBy(() -> store.get("index/none")).isInstanceOf(NoSuchObjectException.class);
    assertThat(proxy.requests() - before).isEqualTo(1);
  }

  @Test
  void aServiceThatNeverAnswersTimesOut() {
    proxy.always(Fault.HANG);
    assertThatThrownBy(() -> store.get("index/slow"))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(store + ": cannot read index/slow: ")
        .hasMessageContaining("(after 4 attempts)")
        .message().doesNotContain("\n");
  }

  private static ByteBuffer utf8(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }
}
