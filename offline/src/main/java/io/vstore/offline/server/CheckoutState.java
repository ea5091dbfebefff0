package io.vstore.offline.server;

/** Where a check-out stands. */
public enum CheckoutState {
  /** The copy is out; the server copy is locked. */
  OUT,
  /** Checked in: the changes were applied and the lock released. */
  CHECKED_IN,
  /** Rolled back: the offline changes are discarded and the lock released. */
  ROLLED_BACK
}
