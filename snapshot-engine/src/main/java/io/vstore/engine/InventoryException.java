package io.vstore.engine;

import java.io.IOException;

/** A problem with the inventory: a bad inventory file, or an operation the inventory refuses. */
public final class InventoryException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with {@code message}, which starts with the kind of problem. */
  public InventoryException(String message) {
    super(message);
  }

  /** Creates an exception with {@code message} caused by {@code cause}. */
  public InventoryException(String message, Throwable cause) {
    super(message, cause);
  }
}
