package io.vstore.offline.server;

import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.store.Datastore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The server copies locked by check-outs: while a VM is out, a {@link VolumeInterceptor} on each of
 * its disks' heads refuses every write, zeroing and discard, whatever handle makes it (an NBD
 * export, a command, the API), with "checked out by USER since TIME"; reads, snapshots and backups
 * go on. Only the check-in's own apply, on a thread bound to {@link #APPLYING}, passes. An
 * interceptor that was already there (the mover's) is kept below the lock and put back at unlock.
 */
final class ServerCopyLocks {
  /** The check-out whose check-in is being applied on this thread, if any. */
  static final ScopedValue<String> APPLYING = ScopedValue.newInstance();

  private final Map<String, Lock> byVolume = new ConcurrentHashMap<>();

  /** Locks the disks of {@code r} in {@code store}. */
  void lock(Datastore store, CheckoutRecord r) throws IOException {
    for (CheckoutRecord.Disk d : r.disks()) {
      String key = key(store, d.volume());
      if (byVolume.containsKey(key)) {
        continue;
      }
      Lock lock = new Lock(r.id(), d.volume(), "checked out by " + r.user() + " since " + r.since());
      lock.below = store.setInterceptor(d.volume(), lock);
      byVolume.put(key, lock);
    }
  }

  /** Releases the disks of {@code r}. */
  void unlock(Datastore store, CheckoutRecord r) throws IOException {
    for (CheckoutRecord.Disk d : r.disks()) {
      Lock lock = byVolume.remove(key(store, d.volume()));
      if (lock == null || !store.hasVolume(d.volume())) {
        continue;
      }
      if (lock.below != null) {
        store.setInterceptor(d.volume(), lock.below);
      } else {
        store.clearInterceptor(d.volume());
      }
    }
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

  /** The lock on one volume's head. */
  private static final class Lock implements VolumeInterceptor {
    private final String checkoutId;
    private final String volume;
    private final String holder;
    volatile VolumeInterceptor below;

    Lock(String checkoutId, String volume, String holder) {
      this.checkoutId = checkoutId;
      this.volume = volume;
      this.holder = holder;
    }

    private void allow() throws ReadOnlyDeviceException {
      if (!APPLYING.isBound() || !APPLYING.get().equals(checkoutId)) {
        throw new ReadOnlyDeviceException("volume " + volume + " is " + holder + " (check-out " + checkoutId
            + "); reads work, writes wait for its check-in or roll-back");
      }
    }

    @Override
    public void write(long offset, ByteBuffer src, Local local) throws IOException {
      allow();
      VolumeInterceptor b = below;
      if (b != null) {
        b.write(offset, src, local);
      } else {
        local.apply();
      }
    }

    @Override
    public void zero(long offset, long length, boolean discard, Local local) throws IOException {
      allow();
      VolumeInterceptor b = below;
      if (b != null) {
        b.zero(offset, length, discard, local);
      } else {
        local.apply();
      }
    }

    @Override
    public void flush(Local local) throws IOException {
      VolumeInterceptor b = below;
      if (b != null) {
        b.flush(local);
      } else {
        local.apply();
      }
    }
  }
}
