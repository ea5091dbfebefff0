package io.vstore.backup.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How to reach an S3 service: endpoint, region, credentials, timeouts and how often to retry.
 * {@link #toString()} never shows the secret key.
 *
 * @param endpoint the service's base URL ({@code http://127.0.0.1:7480}, {@code https://s3.example})
 * @param region the signing region
 * @param accessKeyId the access key id
 * @param secretAccessKey the secret key
 * @param connectTimeout how long to wait for a connection
 * @param requestTimeout how long one attempt of one request may take, transfer included
 * @param maxAttempts how many times a request is tried when it fails in a way that may pass
 *     (network errors, timeouts, HTTP 500/502/503/504, throttling)
 */
public record S3Settings(URI endpoint, String region, String accessKeyId, String secretAccessKey,
    Duration connectTimeout, Duration requestTimeout, int maxAttempts) {
  /** The variable naming the endpoint. */
  public static final String ENDPOINT_VARIABLE = "VSTORE_S3_ENDPOINT";

  public S3Settings {
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(secretAccessKey, "secretAccessKey");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    if (maxAttempts < 1 || maxAttempts > 20) {
      throw new IllegalArgumentException("maxAttempts must be 1 to 20: " + maxAttempts);
    }
  }

  /**
   * Reads the settings from environment variables: {@code VSTORE_S3_ENDPOINT}, {@code
   * AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY}, {@code AWS_REGION} (default {@code
   * us-east-1}); timeouts of 10 s to connect and 120 s a request (a 16 MiB pack at 1 MiB/s
   * fits), 5 attempts.
   *
   * @throws IllegalArgumentException one line naming the variable that is missing or wrong
   */
  public static S3Settings fromEnvironment(Map<String, String> env) {
    String endpoint = required(env, ENDPOINT_VARIABLE);
    URI uri;
    try {
      uri = new URI(endpoint);
    } catch (URISyntaxException e) {
      uri = null;
    }
    if (uri == null || !"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new IllegalArgumentException(ENDPOINT_VARIABLE + " must be an http:// or https:// URL: " + endpoint);
    }
    String region = env.getOrDefault("AWS_REGION", "");
    return new S3Settings(uri, region.isBlank() ? "us-east-1" : region.strip(),
        required(env, "AWS_ACCESS_KEY_ID"), required(env, "AWS_SECRET_ACCESS_KEY"),
        Duration.ofSeconds(10), Duration.ofSeconds(120), 5);
  }

  /** Returns these settings with other timeouts and attempts (tests shorten them). */
  public S3Settings withLimits(Duration connect, Duration request, int attempts) {
    return new S3Settings(endpoint, region, accessKeyId, secretAccessKey, connect, request, attempts);
  }

  private static String required(Map<String, String> env, String name) {
    String v = env.get(name);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException(name + " is not set (an S3 repository needs " + ENDPOINT_VARIABLE
          + ", AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    return v.strip();
  }

  @Override
  public String toString() {
    return "S3Settings[endpoint=" + endpoint + ", region=" + region + ", accessKeyId=" + accessKeyId
        + ", connectTimeout=" + connectTimeout + ", requestTimeout=" + requestTimeout + ", maxAttempts="
        + maxAttempts + "]";
  }
}
