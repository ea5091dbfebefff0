package io.vstore.ovf.pkg;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.atomic.AtomicBoolean;

/** A manifest digest, as ovftool writes them: SHA1, SHA256 (its default) or SHA512. */
public enum DigestAlgorithm {
  /** SHA-1, for old ESXi hosts. */
  SHA1("SHA-1", "SHA1withRSA", 40),
  /** SHA-256, the default. */
  SHA256("SHA-256", "SHA256withRSA", 64),
  /** SHA-512. */
  SHA512("SHA-512", "SHA512withRSA", 128);

  /** Updates the priming thread makes: past C2's invocation threshold (5,000) with room to spare. */
  private static final int PRIMING_UPDATES = 20_000;

  private final String javaName;
  private final String rsaSignature;
  private final int hexLength;
  private final AtomicBoolean primed = new AtomicBoolean();

  DigestAlgorithm(String javaName, String rsaSignature, int hexLength) {
    this.javaName = javaName;
    this.rsaSignature = rsaSignature;
    this.hexLength = hexLength;
  }

  /**
   * Returns a new digest of this algorithm: the system's libcrypto when it is there (fast under
   * any JIT, see {@link NativeDigest}), else the JDK's.
   */
  public MessageDigest newDigest() {
    MessageDigest fast = NativeDigest.create(javaName);
    if (fast != null) {
      return fast;
    }
    try {
      return MessageDigest.getInstance(javaName);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks " + javaName, e);
    }
  }

  /**
   * Prepares this digest on a daemon thread, once per process, so that a command overlaps the
   * preparation with its own start (opening the datastore, parsing the descriptor) instead of
   * paying it on the reading thread at the first byte; call it as soon as a command knows it will
   * digest. With libcrypto, the preparation is loading it and linking its functions through the
   * FFM API: about 0.1-0.15 s of CPU even with the AOT cache, most of it spinning the downcall
   * stubs, which the cache does not hold (a digest created meanwhile waits for the class
   * initialization that does this). With the JDK's digests it has the JIT compile the digest: they
   * run the CPU's SHA instructions only in C2-compiled code, and C2 compiles
   * {@code MessageDigest.update} after some thousand calls: a package's 64 KiB reads reached that
   * after about 300 MB, digested meanwhile in plain Java at a fraction of the speed (importing the
   * benchmark OVA cost 1.6 s more CPU with its manifest than without, where the digest alone takes
   * 0.8 s). 20,000 updates of 128 bytes are 2.5 MB of work.
   */
  public void prime() {
    if (!primed.compareAndSet(false, true)) {
      return;
    }
    Thread t = new Thread(() -> {
      if (NativeDigest.enabled()) {
        return; // the class initialization linked libcrypto, which was the work
      }
      MessageDigest d = newDigest();
      byte[] blocks = new byte[128];
      for (int i = 0; i < PRIMING_UPDATES; i++) {
        d.update(blocks, 0, blocks.length);
      }
    }, "digest-prime " + name());
    t.setDaemon(true);
    t.start();
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
