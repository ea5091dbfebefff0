package io.vstore.offline;

import java.time.Instant;

/**
 * What the server signs for one check-out: which check-out, VM and user, the server's time when it
 * signed ({@code issued}: the client's last trusted time, so a clock set back before it is
 * detected) and the effective policy. Serialized as JSON in field order; the signature covers the
 * exact bytes, which the client keeps as they came.
 */
public record PolicyDocument(int version, String checkoutId, String vm, String user, String issued, Policy policy) {
  /** The document version this code writes and reads. */
  public static final int VERSION = 1;

  /** Returns {@link #issued} as an instant. */
  public Instant issuedAt() {
    return Instant.parse(issued);
  }
}
