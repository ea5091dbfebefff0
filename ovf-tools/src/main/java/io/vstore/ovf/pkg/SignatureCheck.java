package io.vstore.ovf.pkg;

/**
 * What the check of a package's certificate found.
 *
 * @param status unsigned, signed by a trusted chain, or signed validly by an untrusted one
 * @param signer the signing certificate's subject, or null when unsigned
 * @param detail one line for probe output and warnings
 */
public record SignatureCheck(Status status, String signer, String detail) {
  /** The outcome. */
  public enum Status {
    /** The package has no certificate. */
    UNSIGNED,
    /** The manifest's signature verifies and its chain ends at a trusted certificate. */
    TRUSTED,
    /** The manifest's signature verifies but the chain ends at no trusted certificate (self-signed, say). */
    UNTRUSTED
  }

  static SignatureCheck unsigned() {
    return new SignatureCheck(Status.UNSIGNED, null, "the package is not signed");
  }
}
