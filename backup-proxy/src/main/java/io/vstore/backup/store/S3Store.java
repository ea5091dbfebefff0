package io.vstore.backup.store;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.ObjectLockEnabled;
import software.amazon.awssdk.services.s3.model.ObjectLockLegalHoldStatus;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * An {@link ObjectStore} in an S3 bucket (AWS S3, Ceph RGW, MinIO), under a key prefix: object
 * {@code KEY} is stored as {@code PREFIX/KEY}.
 *
 * <p>Requests use path-style addressing and send checksums only where S3 requires them (RGW
 * refuses the SDK's newer default trailing checksums); every put carries {@code Content-MD5}, which
 * the service verifies and object-locked buckets demand. A put is conditional ({@code If-None-Match:
 * *}), so an object is never overwritten; in versioned and object-locked buckets, where Ceph RGW
 * ignores that condition, a HEAD before the put and a look at the key's versions after it keep
 * that promise (see {@link S3VersionedPut}). Failures that
 * may pass (network errors, timeouts, 5xx, throttling) are retried a bounded number of times with
 * backoff; every error names {@code s3://bucket/prefix} and the key.
 *
 * <p>A delete removes the key from the bucket's listing. In a versioned bucket it leaves a delete
 * marker and the data stays as a noncurrent version until the bucket's lifecycle rules expire it.
 * In an object-locked bucket a delete of an object under retention or legal hold is refused with
 * {@link ObjectLockedException}: the repository must not pretend that data is gone which the bucket
 * keeps.
 */
public final class S3Store implements ObjectStore {
  private static final int MAX_OBJECT_BYTES = Integer.MAX_VALUE - 8;

  private final S3Client client;
  private final S3Location location;
  private final String bucket;
  private final S3Retry retry;
  private final boolean versioned;
  private final boolean objectLocked;
  private final S3VersionedPut versionedPut;
  private volatile boolean closed;

  private S3Store(S3Client client, S3Location location, int maxAttempts, boolean versioned, boolean objectLocked) {
    this.client = client;
    this.location = location;
    this.bucket = location.bucket();
    this.retry = new S3Retry(location.toString(), maxAttempts);
    this.versioned = versioned;
    this.objectLocked = objectLocked;
    this.versionedPut = new S3VersionedPut(client, retry, bucket);
  }

  /**
   * Connects to the bucket of {@code location} and checks that it exists and can be read; finds
   * out whether it is versioned and object-locked.
   *
   * @throws IOException one line naming the location: no such bucket, access denied, endpoint
   *     unreachable
   */
  public static S3Store open(S3Location location, S3Settings settings) throws IOException {
    S3Client client = newClient(settings);
    boolean success = false;
    try {
      S3Retry retry = new S3Retry(location.toString(), settings.maxAttempts());
      try {
        retry.call("open bucket", null, () -> client.headBucket(b -> b.bucket(location.bucket())));
      } catch (IOException e) {
        if (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 404) {
          throw new IOException(location + ": no bucket '" + location.bucket() + "' at " + settings.endpoint(), e);
        }
        if (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 403) {
          throw new IOException(location + ": access to bucket '" + location.bucket() + "' denied for key id "
              + settings.accessKeyId() + " at " + settings.endpoint(), e);
        }
        if (e.getCause() instanceof SdkClientException) {
          throw new IOException(location + ": cannot reach " + settings.endpoint() + ": "
              + S3Retry.describe((SdkException) e.getCause()), e);
        }
        throw e;
      }
      // Unknown versioning counts as versioned: the HEAD before each put then keeps the promise
      // of no overwrite where the service might ignore If-None-Match.
      boolean versioned = probe(retry, "read the versioning of", true, () -> client
          .getBucketVersioning(b -> b.bucket(location.bucket())).status() == BucketVersioningStatus.ENABLED);
      boolean locked = probe(retry, "read the object lock configuration of", false, () -> {
        var config = client.getObjectLockConfiguration(b -> b.bucket(location.bucket())).objectLockConfiguration();
        return config != null && config.objectLockEnabled() == ObjectLockEnabled.ENABLED;
      });
      S3Store store = new S3Store(client, location, settings.maxAttempts(), versioned, locked);
      success = true;
      return store;
    } finally {
      if (!success) {
        client.close();
      }
    }
  }

  // A bucket property a store may fail to read: a 404 means "not configured" (false); a 403 or 501
  // that the key may not ask or the service does not implement it (then {@code unknown}).
  private static boolean probe(S3Retry retry, String what, boolean unknown, S3Retry.Request<Boolean> request)
      throws IOException {
    try {
      return retry.call(what, "the bucket", request);
    } catch (IOException e) {
      if (e.getCause() instanceof S3Exception s3) {
        if (s3.statusCode() == 404) {
          return false;
        }
        if (s3.statusCode() == 403 || s3.statusCode() == 501 || s3.statusCode() == 400 || s3.statusCode() == 405) {
          return unknown;
        }
      }
      throw e;
    }
  }

  /** Returns a client configured as every S3Store's is (path-style, checksums when required, no SDK retries). */
  static S3Client newClient(S3Settings settings) {
    SdkHttpClient http = UrlConnectionHttpClient.builder()
        .connectionTimeout(settings.connectTimeout())
        .socketTimeout(settings.requestTimeout())
        .build();
    return S3Client.builder()
        .endpointOverride(settings.endpoint())
        .region(Region.of(settings.region()))
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(settings.accessKeyId(), settings.secretAccessKey())))
        .forcePathStyle(true)
        // Over plain HTTP the SDK would otherwise send signed aws-chunked bodies, which RGW 16
        // rejects when empty (XAmzContentSHA256Mismatch); the payload's SHA-256 in one header works
        // everywhere, at the cost of one more pass over the buffer.
        .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
        .httpClient(http)
        .overrideConfiguration(o -> o
            .retryStrategy(b -> b.maxAttempts(1))      // S3Retry retries, knowing what is safe to
            .apiCallAttemptTimeout(settings.requestTimeout())
            .apiCallTimeout(settings.requestTimeout()))
        .build();
  }

  /** Returns the bucket and prefix. */
  public S3Location location() {
    return location;
  }

  /** Returns whether the bucket keeps versions (a delete leaves a delete marker). */
  public boolean versioned() {
    return versioned;
  }

  /** Returns whether the bucket has S3 Object Lock enabled. */
  public boolean objectLocked() {
    return objectLocked;
  }

  @Override
  public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    // Where the service may ignore If-None-Match (versioned buckets on RGW), a HEAD keeps a put
    // from replacing an object; S3VersionedPut settles writers that race past it.
    if (versioned && head(key).isPresent()) {
      return false;
    }
    ByteBuffer body = data.duplicate();
    long length = body.remaining();
    String md5 = md5Base64(body.duplicate());
    String s3Key = location.objectKey(key);
    // After an attempt that failed without an answer (or with a 5xx) the object may have been
    // written by that very attempt; a 412 that follows is then ours or a racer's, and only the
    // content tells (a lock or a manifest holds what is unique to its writer).
    boolean mayHaveWritten = false;
    for (int attempt = 1; ; attempt++) {
      try {
        PutObjectResponse r = client.putObject(b -> b.bucket(bucket).key(s3Key).ifNoneMatch("*").contentMD5(md5)
                .contentLength(length).contentType("application/octet-stream"),
            RequestBody.fromContentProvider(() -> new ByteBufferInputStream(body.duplicate()), length,
                "application/octet-stream"));
        if (!versioned || r.versionId() == null) {
          return true;
        }
        return versionedPut.settle(key, s3Key, r.versionId(), objectLocked)
            || mayHaveWritten && sameContent(key, body);
      } catch (S3Exception e) {
        if (e.statusCode() == 412) {
          return mayHaveWritten && sameContent(key, body);
        }
        // 409 ConditionalRequestConflict: another conditional put of the key is in flight; ours did not write.
        boolean conflict = e.statusCode() == 409;
        if (!conflict && !S3Retry.retryable(e) || attempt >= retry.maxAttempts()) {
          throw retry.failure("store", key, e, attempt);
        }
        mayHaveWritten |= !conflict;
      } catch (SdkClientException e) {
        if (attempt >= retry.maxAttempts()) {
          throw retry.failure("store", key, e, attempt);
        }
        mayHaveWritten = true;
      }
      retry.backoff(attempt, "store", key);
    }
  }

  private boolean sameContent(String key, ByteBuffer expected) throws IOException {
    try {
      return ByteBuffer.wrap(get(key)).equals(expected);
    } catch (NoSuchObjectException e) {
      return false;   // deleted again since the 412: not ours to claim
    }
  }

  @Override
  public byte[] get(String key) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    String s3Key = location.objectKey(key);
    try {
      return retry.call("read", key, () -> {
        try (ResponseInputStream<GetObjectResponse> in = client.getObject(b -> b.bucket(bucket).key(s3Key))) {
          Long size = in.response().contentLength();
          if (size == null || size < 0 || size > MAX_OBJECT_BYTES) {
            in.abort();
            throw new IOException(this + ": object " + key + " has a size that cannot be read whole: " + size);
          }
          return readFully(in, size.intValue(), key, size);
        }
      });
    } catch (IOException e) {
      throw notFoundOr(e, key);
    }
  }

  @Override
  public byte[] get(String key, long offset, int length) throws IOException {
    ObjectKeys.check(key);
    if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
      throw new IllegalArgumentException("bad range " + offset + "+" + length + " of " + key);
    }
    ensureOpen();
    if (length == 0) {
      long size = stat(key).orElseThrow(() -> new NoSuchObjectException(this + ": no object " + key)).size();
      if (size < offset) {
        throw eof(key, size, offset);
      }
      return new byte[0];
    }
    String s3Key = location.objectKey(key);
    String range = "bytes=" + offset + "-" + (offset + length - 1);
    try {
      return retry.call("read", key, () -> {
        try (ResponseInputStream<GetObjectResponse> in = client.getObject(b -> b.bucket(bucket).key(s3Key).range(range))) {
          GetObjectResponse r = in.response();
          long total = totalSize(r);
          if (r.contentRange() == null) {
            // The service ignored the range and sends the whole object: skip to the offset.
            if (total < offset + length) {
              in.abort();
              throw eof(key, total, offset + length);
            }
            in.skipNBytes(offset);
            byte[] part = readFully(in, length, key, total);
            in.abort();
            return part;
          }
          if (total >= 0 && total < offset + length) {
            in.abort();
            throw eof(key, total, offset + length);
          }
          return readFully(in, length, key, total);
        }
      });
    } catch (IOException e) {
      if (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 416) {
        long size = stat(key).orElseThrow(() -> new NoSuchObjectException(this + ": no object " + key)).size();
        throw eof(key, size, offset + length);
      }
      throw notFoundOr(e, key);
    }
  }

  // The object's whole size from Content-Range "bytes a-b/total" (a ranged answer) or the length.
  private static long totalSize(GetObjectResponse r) {
    String cr = r.contentRange();
    if (cr != null) {
      int slash = cr.lastIndexOf('/');
      if (slash >= 0 && !cr.endsWith("*")) {
        try {
          return Long.parseLong(cr.substring(slash + 1).strip());
        } catch (NumberFormatException e) {
          return -1;
        }
      }
      return -1;
    }
    return r.contentLength() == null ? -1 : r.contentLength();
  }

  private EOFException eof(String key, long size, long end) {
    return new EOFException(this + ": object " + key + " ends at " + size + ", before " + end);
  }

  private byte[] readFully(InputStream in, int length, String key, long total) throws IOException {
    byte[] b = in.readNBytes(length);
    if (b.length != length) {
      // A response shorter than its own length: the connection broke (retryable).
      throw SdkClientException.create(this + ": response for " + key + " ended after " + b.length + " of "
          + length + " bytes (object size " + total + ")");
    }
    return b;
  }

  private IOException notFoundOr(IOException e, String key) {
    if (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 404) {
      return new NoSuchObjectException(this + ": no object " + key);
    }
    return e;
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    // Whole seconds, as a HEAD's Last-Modified has them, also in listings (which have milliseconds):
    // one object must look the same from both (CachingStore compares them).
    return head(key).map(h -> new ObjectInfo(key, h.contentLength(), h.lastModified().truncatedTo(ChronoUnit.SECONDS)));
  }

  private Optional<HeadObjectResponse> head(String key) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    String s3Key = location.objectKey(key);
    try {
      return Optional.of(retry.call("stat", key, () -> client.headObject(b -> b.bucket(bucket).key(s3Key))));
    } catch (IOException e) {
      if (e.getCause() instanceof S3Exception s3 && s3.statusCode() == 404) {
        return Optional.empty();
      }
      throw e;
    }
  }

  @Override
  public void list(String prefix, Consumer<ObjectInfo> visitor) throws IOException {
    ObjectKeys.checkPrefix(prefix);
    ensureOpen();
    String s3Prefix = location.listPrefix(prefix);
    String token = null;
    do {
      String continuation = token;
      ListObjectsV2Response page = retry.call("list", prefix.isEmpty() ? "(all keys)" : prefix + "*",
          () -> client.listObjectsV2(b -> b.bucket(bucket).prefix(s3Prefix).continuationToken(continuation)));
      for (S3Object o : page.contents()) {
        String key = location.storeKey(o.key());
        if (isStoreKey(key)) {
          visitor.accept(new ObjectInfo(key, o.size(), o.lastModified().truncatedTo(ChronoUnit.SECONDS)));
        }
      }
      token = Boolean.TRUE.equals(page.isTruncated()) ? page.nextContinuationToken() : null;
    } while (token != null);
  }

  // Objects someone else put under the prefix (other case, other characters) are not this store's.
  private static boolean isStoreKey(String key) {
    try {
      ObjectKeys.check(key);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  @Override
  public void delete(String key) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    if (objectLocked) {
      Optional<HeadObjectResponse> h = head(key);
      if (h.isEmpty()) {
        return;
      }
      checkNotLocked(key, h.get());
    }
    String s3Key = location.objectKey(key);
    retry.call("delete", key, () -> client.deleteObject(b -> b.bucket(bucket).key(s3Key)));
  }

  private void checkNotLocked(String key, HeadObjectResponse h) throws IOException {
    if (h.objectLockLegalHoldStatus() == ObjectLockLegalHoldStatus.ON) {
      throw new ObjectLockedException(this + ": cannot delete " + key + ": it is under an object-lock legal hold");
    }
    Instant until = h.objectLockRetainUntilDate();
    String mode = h.objectLockModeAsString();
    if (until == null) {
      // Not every service reports the retention in a HEAD; ask for it.
      String s3Key = location.objectKey(key);
      try {
        var retention = retry.call("read the retention of", key,
            () -> client.getObjectRetention(b -> b.bucket(bucket).key(s3Key)).retention());
        if (retention != null) {
          until = retention.retainUntilDate();
          mode = retention.modeAsString();
        }
      } catch (IOException e) {
        if (!(e.getCause() instanceof S3Exception s3 && (s3.statusCode() == 404 || s3.statusCode() == 400))) {
          throw e;
        }
        // no retention set on this object
      }
    }
    if (until != null && until.isAfter(Instant.now())) {
      throw new ObjectLockedException(this + ": cannot delete " + key + ": object lock retains it ("
          + mode + ") until " + until);
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      client.close();
    }
  }

  @Override
  public String toString() {
    return location.toString();
  }

  private void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this + " is closed");
    }
  }

  private static String md5Base64(ByteBuffer data) {
    try {
      MessageDigest md5 = MessageDigest.getInstance("MD5");
      md5.update(data);
      return Base64.getEncoder().encodeToString(md5.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no MD5", e);
    }
  }

  /** Reads a buffer without copying it (the SDK's ByteBuffer bodies copy the whole object first). */
  private static final class ByteBufferInputStream extends InputStream {
    private final ByteBuffer buf;

    ByteBufferInputStream(ByteBuffer buf) {
      this.buf = buf;
    }

    @Override
    public int read() {
      return buf.hasRemaining() ? buf.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      Objects.checkFromIndexSize(off, len, b.length);
      if (len == 0) {
        return 0;
      }
      if (!buf.hasRemaining()) {
        return -1;
      }
      int n = Math.min(len, buf.remaining());
      buf.get(b, off, n);
      return n;
    }

    @Override
    public int available() {
      return buf.remaining();
    }
  }
}
