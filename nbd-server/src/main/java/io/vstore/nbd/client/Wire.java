package io.vstore.nbd.client;

/** The client's own limits on what it sends and accepts; the protocol's values are {@link io.vstore.nbd.Nbd}'s. */
final class Wire {
  private Wire() {}

  /** Longest option reply or error message accepted from a server; anything longer is malformed. */
  static final int MAX_OPTION_REPLY = 64 << 10;
  /** Largest zeroing or block-status request: lengths are 32-bit and servers prefer aligned ranges. */
  static final long MAX_RANGE = 1L << 30;
}
