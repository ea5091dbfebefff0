package io.vstore.backup.maint;

import java.io.IOException;

/** A lock, gc or protection object of a repository does not parse; the message names store and key. */
public final class CorruptMaintenanceObjectException extends IOException {
  private static final long serialVersionUID = 1L;

  CorruptMaintenanceObjectException(String message) {
    super(message);
  }
}
