package io.vstore.cli;

import io.vstore.server.Daemon;

/** What the daemon-only backup commands (instant restore, mount) share: finding the daemon they run in. */
final class BackupMounts {
  /** The export kind of a mounted backup point. */
  static final String KIND = "backup-point";

  private BackupMounts() {}

  /** Returns the daemon this command runs in, or fails saying that {@code what} needs one. */
  static Daemon daemon(String what) {
    return DaemonContext.current().map(DaemonContext::host).filter(Daemon.class::isInstance).map(Daemon.class::cast)
        .orElseThrow(() -> new IllegalStateException(what + " serves NBD through the daemon, and none owns this "
            + "datastore: start vstore serve -D DATASTORE first"));
  }
}
