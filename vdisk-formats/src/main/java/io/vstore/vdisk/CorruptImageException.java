package io.vstore.vdisk;

import io.vstore.blockstore.CorruptDataException;

/**
 * Thrown when an image's structure fails validation. Messages start with the kind and name the
 * file, the structure and the offset: {@code "bad qcow2: L2 table at 0x... beyond end of file"}.
 */
public final class CorruptImageException extends CorruptDataException {
  private static final long serialVersionUID = 1L;

  public CorruptImageException(String message) {
    super(message);
  }

  public CorruptImageException(String message, Throwable cause) {
    super(message, cause);
  }
}
