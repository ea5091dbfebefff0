package io.vstore.ovf.pkg;

import java.io.IOException;

/**
 * Bad data in an OVF package: a malformed or truncated tar, a path that leaves the package, a
 * manifest mismatch, a bad signature. The message starts with the kind of problem ("bad ova: ",
 * "bad manifest: ", "manifest mismatch: ", "bad signature: ") and names the package and member.
 */
public final class PackageException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with its one-line message. */
  public PackageException(String message) {
    super(message);
  }

  /** Creates the exception with its one-line message and the underlying failure. */
  public PackageException(String message, Throwable cause) {
    super(message, cause);
  }
}
