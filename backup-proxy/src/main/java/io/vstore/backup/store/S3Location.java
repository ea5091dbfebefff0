package io.vstore.backup.store;

import java.util.Objects;

/**
 * Where an S3 repository lives: a bucket and a key prefix inside it, written {@code
 * s3://BUCKET[/PREFIX]}. The prefix is empty or ends without a slash; object keys are stored as
 * {@code PREFIX/KEY}.
 */
public record S3Location(String bucket, String prefix) {
  /** The scheme a location string starts with. */
  public static final String SCHEME = "s3://";

  public S3Location {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(prefix, "prefix");
    checkBucket(bucket);
    checkPrefix(prefix);
  }

  /** Returns whether {@code location} is written as an S3 location. */
  public static boolean isS3(String location) {
    return location.regionMatches(true, 0, SCHEME, 0, SCHEME.length());
  }

  /**
   * Parses {@code s3://BUCKET[/PREFIX]}; one trailing slash is allowed.
   *
   * @throws IllegalArgumentException naming the location and what is wrong with it
   */
  public static S3Location parse(String location) {
    if (!isS3(location)) {
      throw new IllegalArgumentException("not an S3 location (s3://BUCKET[/PREFIX]): " + location);
    }
    String rest = location.substring(SCHEME.length());
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    try {
      return new S3Location(bucket, prefix);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad S3 location " + location + ": " + e.getMessage(), e);
    }
  }

  /** Returns the S3 key of the object {@code key} of the store. */
  String objectKey(String key) {
    return prefix.isEmpty() ? key : prefix + "/" + key;
  }

  /** Returns the S3 key prefix that {@code keyPrefix} of the store lists. */
  String listPrefix(String keyPrefix) {
    return prefix.isEmpty() ? keyPrefix : prefix + "/" + keyPrefix;
  }

  /** Returns the store's key of the S3 key {@code s3Key}, which must lie under the prefix. */
  String storeKey(String s3Key) {
    return prefix.isEmpty() ? s3Key : s3Key.substring(prefix.length() + 1);
  }

  @Override
  public String toString() {
    return SCHEME + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
  }

  // The rules S3 gives for bucket names (DNS-compatible), which also keep path-style URLs simple.
  private static void checkBucket(String bucket) {
    if (bucket.length() < 3 || bucket.length() > 63) {
      throw new IllegalArgumentException("bucket name must be 3 to 63 characters: '" + bucket + "'");
    }
    for (int i = 0; i < bucket.length(); i++) {
      char c = bucket.charAt(i);
      boolean edge = i == 0 || i == bucket.length() - 1;
      boolean ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!edge && (c == '-' || c == '.'));
      if (!ok) {
        throw new IllegalArgumentException("bucket name '" + bucket + "' may hold only a-z, 0-9, '-' and '.'"
            + " and must begin and end with a letter or digit");
      }
    }
  }

  // A prefix is a path of non-empty segments; letters of both cases are allowed (the bucket may
  // hold other data), but nothing that would need escaping or could climb out of the prefix.
  private static void checkPrefix(String prefix) {
    if (prefix.isEmpty()) {
      return;
    }
    if (prefix.length() > 256) {
      throw new IllegalArgumentException("prefix longer than 256 characters");
    }
    for (String segment : prefix.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        throw new IllegalArgumentException("prefix '" + prefix + "' has an empty, '.' or '..' segment");
      }
      for (int i = 0; i < segment.length(); i++) {
        char c = segment.charAt(i);
        if (!(Character.isLetterOrDigit(c) && c < 128) && c != '-' && c != '_' && c != '.') {
          throw new IllegalArgumentException("prefix '" + prefix + "' holds the character '" + c + "'");
        }
      }
    }
  }
}
