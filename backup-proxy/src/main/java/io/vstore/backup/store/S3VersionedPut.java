package io.vstore.backup.store;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.DeleteMarkerEntry;
import software.amazon.awssdk.services.s3.model.ListObjectVersionsResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Settles which writer of a key won, in a versioned bucket, after the put: the first version
 * written since the key's last delete marker is the object; any later one is a writer that lost and
 * removes its own version again.
 *
 * <p>Needed because not every service honours {@code If-None-Match: *} in versioned buckets: Ceph
 * RGW 16 ignores it there (every put succeeds and adds a version), while AWS S3 answers 412. The
 * store checks with a HEAD before each put, so only writers racing within one round trip can both
 * get here; S3 lists a key's versions newest first in the order they were completed, so every
 * writer that lists after its own put sees the same oldest live version, and exactly one writer
 * finds its own. Until a loser has removed its version, readers of the key see the loser's bytes:
 * a window of one request, for keys that two writers create at once with different contents.
 */
final class S3VersionedPut {
  private final S3Client client;
  private final S3Retry retry;
  private final String bucket;

  S3VersionedPut(S3Client client, S3Retry retry, String bucket) {
    this.client = client;
    this.retry = retry;
    this.bucket = bucket;
  }

  /**
   * Returns whether {@code versionId} is the first live version of {@code s3Key}; if it is not,
   * removes it (bypassing a governance-mode retention in an object-locked bucket).
   *
   * @throws IOException if the losing version cannot be removed (compliance-mode retention, or
   *     no permission): the key then reads this writer's bytes, which the message says
   */
  boolean settle(String key, String s3Key, String versionId, boolean objectLocked) throws IOException {
    List<ObjectVersion> versions = new ArrayList<>();
    Instant lastDelete = Instant.MIN;
    String keyMarker = null;
    String versionMarker = null;
    do {
      String km = keyMarker;
      String vm = versionMarker;
      ListObjectVersionsResponse page;
      try {
        page = retry.call("list the versions of", key,
            () -> client.listObjectVersions(b -> b.bucket(bucket).prefix(s3Key).keyMarker(km).versionIdMarker(vm)));
      } catch (IOException e) {
        if (e.getCause() instanceof S3Exception s3 && (s3.statusCode() == 403 || s3.statusCode() == 501)) {
          return true;   // versions may not be listed: the HEAD before the put is all the guard there is
        }
        throw e;
      }
      for (ObjectVersion v : page.versions()) {
        if (v.key().equals(s3Key)) {
          versions.add(v);
        }
      }
      for (DeleteMarkerEntry d : page.deleteMarkers()) {
        if (d.key().equals(s3Key) && d.lastModified().isAfter(lastDelete)) {
          lastDelete = d.lastModified();
        }
      }
      boolean more = Boolean.TRUE.equals(page.isTruncated());
      keyMarker = more ? page.nextKeyMarker() : null;
      versionMarker = more ? page.nextVersionIdMarker() : null;
    } while (keyMarker != null);
    // Newest first: the last version listed that is newer than the last delete marker is the first live one.
    ObjectVersion first = null;
    for (ObjectVersion v : versions) {
      if (v.lastModified().isAfter(lastDelete)) {
        first = v;
      }
    }
    if (first == null || first.versionId().equals(versionId)) {
      return true;   // ours (or ours was deleted already by someone: it was written)
    }
    try {
      retry.call("remove the losing version of", key, () -> client.deleteObject(b -> b.bucket(bucket).key(s3Key)
          .versionId(versionId).bypassGovernanceRetention(objectLocked ? Boolean.TRUE : null)));
    } catch (IOException e) {
      throw new IOException(e.getMessage() + "; another writer stored " + key + " at the same time and won,"
          + " but this writer's version " + versionId + " could not be removed, so the key reads it", e);
    }
    return false;
  }
}
