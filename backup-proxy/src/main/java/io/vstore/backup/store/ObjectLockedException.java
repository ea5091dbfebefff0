package io.vstore.backup.store;

import java.io.IOException;

/**
 * A delete was refused because the object is under an S3 Object Lock retention or legal hold;
 * the message names the location, the key and until when the object is retained.
 */
public final class ObjectLockedException extends IOException {
  private static final long serialVersionUID = 1L;

  public ObjectLockedException(String message) {
    super(message);
  }
}
