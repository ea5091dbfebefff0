package io.vstore.offline.server;

import io.vstore.blockstore.store.Datastore;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The server copies locked by check-outs: while a VM is out, its disks' heads belong to the
 * check-out (who and since when), and only the check-in's own apply may write them.
 */
final class ServerCopyLocks {
  /** Who holds a volume: the check-out. */
  record Holder(String checkoutId, String user, String since) {
    String describe() {
      return "checked out by " + user + " since " + since + " (check-out " + checkoutId + ")";
    }
  }

  /** The check-out whose check-in is being applied on this thread, if any. */
  static final ScopedValue<String> APPLYING = ScopedValue.newInstance();

  private final Map<String, Holder> byVolume = new ConcurrentHashMap<>();

  /** Locks the disks of {@code r} in {@code store}. */
  void lock(Datastore store, CheckoutRecord r) {
    Holder h = new Holder(r.id(), r.user(), r.since());
    for (CheckoutRecord.Disk d : r.disks()) {
      byVolume.put(key(store, d.volume()), h);
    }
  }

  /** Releases the disks of {@code r}. */
  void unlock(Datastore store, CheckoutRecord r) {
    for (CheckoutRecord.Disk d : r.disks()) {
      byVolume.remove(key(store, d.volume()));
    }
  }

  /** Returns who holds {@code volume} of {@code store}, or null. */
  Holder holder(Datastore store, String volume) {
    return byVolume.get(key(store, volume));
  }

  /** Runs {@code action} as the apply of check-out {@code id}'s check-in, which the lock lets write. */
  void whileApplying(String id, IoAction action) throws IOException {
    try {
      ScopedValue.where(APPLYING, id).call(() -> {
        action.run();
        return null;
      });
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  /** An I/O step. */
  @FunctionalInterface
  interface IoAction {
    void run() throws IOException;
  }

  private static String key(Datastore store, String volume) {
    return store.path() + "\0" + volume;
  }
}
