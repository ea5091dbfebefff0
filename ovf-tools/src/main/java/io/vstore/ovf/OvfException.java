package io.vstore.ovf;

import java.io.IOException;

/**
 * Reports a descriptor that cannot be used: malformed XML, a refused construct (DTD, external
 * entity), a limit exceeded, a required section this reader does not know, or a reference to
 * something that is not there. Messages start with the kind ({@code "bad ovf: "} or
 * {@code "unsupported ovf: "}) and name the element or attribute.
 */
public final class OvfException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with the complete one-line message. */
  public OvfException(String message) {
    super(message);
  }

  /** Creates an exception with the complete one-line message and its cause. */
  public OvfException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Returns an exception for malformed or inconsistent descriptor content. */
  static OvfException bad(String what) {
    return new OvfException("bad ovf: " + what);
  }

  /** Returns an exception for well-formed content this reader refuses to interpret. */
  static OvfException unsupported(String what) {
    return new OvfException("unsupported ovf: " + what);
  }
}
