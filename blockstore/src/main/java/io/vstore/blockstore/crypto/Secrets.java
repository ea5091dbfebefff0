package io.vstore.blockstore.crypto;

import java.security.SecureRandom;

/** The one random source of this package (nonces, salts, keys). */
final class Secrets {
  static final SecureRandom RANDOM = new SecureRandom();

  private Secrets() {}
}
