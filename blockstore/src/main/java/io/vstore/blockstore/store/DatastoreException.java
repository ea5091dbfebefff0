package io.vstore.blockstore.store;

import java.io.IOException;

/**
 * Thrown for a datastore request a user can get wrong: a missing or existing volume, a datastore
 * in use, a path that is not a datastore.
 */
public final class DatastoreException extends IOException {
  private static final long serialVersionUID = 1L;

  public DatastoreException(String message) {
    super(message);
  }
}
