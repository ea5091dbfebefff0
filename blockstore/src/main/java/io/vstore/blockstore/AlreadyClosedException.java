package io.vstore.blockstore;

/** Thrown when a closed handle is used. */
public final class AlreadyClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public AlreadyClosedException(Object resource) {
    super(resource + " is closed");
  }
}
