package io.vstore.engine.move;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeTransplant;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * The part of a move's switch-over that clients see: both sides flushed with their background
 * flushers paused, writes held, the copy published in memory and every handle forwarded, writes
 * released, and only then the switch's commit written (unsynced). {@link VolumeMove#switchOver}
 * explains why the source stays authoritative until that write; what follows it (the sync, the
 * source's last flush, the record) is the move's.
 */
final class SwitchHold {
  private static final Logger LOG = System.getLogger(VolumeMove.class.getName());

  /** The switch's change id (the source's head at the switch, named alike on both sides) and the pause clients saw. */
  record Outcome(String changeId, long pauseNanos) {}

  private SwitchHold() {}

  /**
   * Switches {@code volume} from {@code source} to its copy {@code destHead} in {@code destination};
   * {@code prepared} runs after the history is read and before writes are held, {@code released}
   * after the release and before the commit is written (tests race and crash there).
   */
  static Outcome run(Datastore source, Datastore destination, VolumeTransplant transplant, Mirror mirror,
      String volume, Volume destHead, Runnable prepared, Runnable released) throws IOException {
    // No background flush may start on either side until the commit is written: the switch waits
    // for every commit in flight, and a background one ends with a sync of whatever clients wrote
    // meanwhile, tens of milliseconds on a busy disk.
    source.pauseBackgroundFlushes();
    destination.pauseBackgroundFlushes();
    long asked;
    long held;
    long published;
    long releasedAt;
    long written;
    long pauseNanos;
    String switchChangeId;
    try {
      // Flushed before the hold, so that the switch leaves pending only what clients write from here on.
      source.flush();
      destination.flush();
      transplant.prepareSwitch(); // the committed change-log rows, read before the hold
      prepared.run();
      asked = System.nanoTime();
      // Clients see the pause from here: new requests queue behind the hold while those running end.
      long stamp = mirror.holdWrites();
      held = System.nanoTime();
      published = held;
      try {
        // The history's switch: change log, pins and generation, and the volume published, staged as one commit.
        switchChangeId = transplant.publish(volume);
        published = System.nanoTime();
        source.forwardHandles(volume, destHead);
      } catch (IOException | RuntimeException e) {
        mirror.release(stamp);
        stamp = 0;
        try {
          transplant.writeSwitch(); // published in memory: its commit must not block the ones after it
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
        throw e;
      } finally {
        pauseNanos = System.nanoTime() - asked;
        if (stamp != 0) {
          mirror.release(stamp);
        }
      }
      releasedAt = System.nanoTime();
      released.run();
      transplant.writeSwitch();
      written = System.nanoTime();
    } finally {
      destination.resumeBackgroundFlushes();
      source.resumeBackgroundFlushes();
    }
    long drainNanos = held - asked;
    long publishNanos = published - held;
    long forwardNanos = releasedAt - published;
    long writeNanos = written - releasedAt;
    LOG.log(Level.INFO, () -> String.format("switch-over of %s: writes held %.2f ms, of which waiting for the"
        + " writes running %.2f ms, publishing the copy %.2f ms (%s), forwarding the handles and releasing %.2f ms;"
        + " the switch's commit written after the release in %.2f ms", volume, pauseNanos / 1e6, drainNanos / 1e6,
        publishNanos / 1e6, transplant.switchTimings(), forwardNanos / 1e6, writeNanos / 1e6));
    return new Outcome(switchChangeId, pauseNanos);
  }
}
