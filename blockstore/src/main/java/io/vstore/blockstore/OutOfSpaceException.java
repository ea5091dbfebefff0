package io.vstore.blockstore;

import java.io.IOException;

/**
 * Thrown when a write needs space the store cannot give. Everything written before stays readable
 * and the store stays consistent.
 */
public final class OutOfSpaceException extends IOException {
  private static final long serialVersionUID = 1L;

  public OutOfSpaceException(String message) {
    super(message);
  }
}
