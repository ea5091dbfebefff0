package io.vstore.blockstore;

import java.io.IOException;

/**
 * Thrown when bytes read from disk fail validation (bad checksum, bad structure). The message
 * starts with the kind of problem and names the file or volume, the structure and the offset.
 */
public class CorruptDataException extends IOException {
  private static final long serialVersionUID = 1L;

  public CorruptDataException(String message) {
    super(message);
  }

  public CorruptDataException(String message, Throwable cause) {
    super(message, cause);
  }
}
