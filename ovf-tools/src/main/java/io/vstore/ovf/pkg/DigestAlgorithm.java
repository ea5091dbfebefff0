package io.vstore.ovf.pkg;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A manifest digest, as ovftool writes them: SHA1, SHA256 (its default) or SHA512. */
public enum DigestAlgorithm {
  /** SHA-1, for old ESXi hosts. */
  SHA1("SHA-1", "SHA1withRSA", 40),
  /** SHA-256, the default. */
  SHA256("SHA-256", "SHA256withRSA", 64),
  /** SHA-512. */
  SHA512("SHA-512", "SHA512withRSA", 128);

  private final String javaName;
  private final String rsaSignature;
  private final int hexLength;

  DigestAlgorithm(String javaName, String rsaSignature, int hexLength) {
    this.javaName = javaName;
    this.rsaSignature = rsaSignature;
    this.hexLength = hexLength;
  }

  /** Returns a new digest of this algorithm. */
  public MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance(javaName);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + javaName, e);
    }
  }

  /** Returns the length of a digest in hex digits. */
  public int hexLength() {
    return hexLength;
  }

  /** Returns the JCA signature algorithm for a key of {@code keyAlgorithm} ("RSA", "EC") with this digest. */
  String signatureAlgorithm(String keyAlgorithm) {
    String digest = rsaSignature.substring(0, rsaSignature.indexOf("with"));
    return switch (keyAlgorithm) {
      case "RSA" -> rsaSignature;
      case "EC" -> digest + "withECDSA";
      default -> throw new IllegalArgumentException("unsupported signing key algorithm " + keyAlgorithm + " (RSA or EC)");
    };
  }

  /** Returns the algorithm written as {@code name} in a manifest ("SHA256"), or null. */
  static DigestAlgorithm byManifestName(String name) {
    for (DigestAlgorithm a : values()) {
      if (a.name().equals(name)) {
        return a;
      }
    }
    return null;
  }
}
