package io.vstore.backup.maint;

import java.io.IOException;

/** Another live process holds a lock that the operation cannot share (two gcs at once). */
public final class LockConflictException extends IOException {
  private static final long serialVersionUID = 1L;

  LockConflictException(String message) {
    super(message);
  }
}
