package io.vstore.backup.repo;

import io.vstore.blockstore.CorruptDataException;

/**
 * An object of the repository failed validation (checksum, authentication, structure, or a chunk
 * whose plaintext does not hash to its id). The message starts with {@code bad backup repository:}
 * and names the object key (and the chunk), what was expected and what was found.
 */
public final class CorruptObjectException extends CorruptDataException {
  private static final long serialVersionUID = 1L;

  public CorruptObjectException(String message) {
    super(message);
  }

  public CorruptObjectException(String message, Throwable cause) {
    super(message, cause);
  }
}
