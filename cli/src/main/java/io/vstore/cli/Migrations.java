package io.vstore.cli;

import io.vstore.engine.move.MoveRecord;
import io.vstore.engine.move.VolumeMove;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * The daemon's side of {@code vstore migrate}: runs a move between two datastores it owns, repoints
 * the NBD exports of the volume at the switch-over, announces each step as an event, and at daemon
 * start resumes every move a datastore records (a VM's through {@link VmMigrations}).
 */
final class Migrations {
  /** The job kind of a move. */
  static final String JOB_KIND = "migrate";
  private static final System.Logger LOG = System.getLogger(Migrations.class.getName());

  private Migrations() {}

  /**
   * Moves {@code volume} from {@code source} to {@code destination} and returns what the move did.
   *
   * @param progress hears the bytes done of twice the volume's size (copy pass, then verification);
   *     throws {@link java.util.concurrent.CancellationException} to cancel
   */
  static VolumeMove.Result migrate(Daemon daemon, ManagedDatastore source, ManagedDatastore destination,
      String volume, long rateLimit, boolean flatten, LongConsumer progress) throws IOException {
    daemon.replicas().replicas().checkMovable(source.path(), volume);
    VolumeMove move = VolumeMove.start(source.store(), volume, destination.store(), rateLimit, flatten);
    daemon.events().publish("migrate.started", source.name(), Map.of("volume", volume, "to", destination.name()));
    return execute(daemon, source, destination, move, progress);
  }

  private static VolumeMove.Result execute(Daemon daemon, ManagedDatastore source, ManagedDatastore destination,
      VolumeMove move, LongConsumer progress) throws IOException {
    String volume = move.volume();
    VolumeMove.Listener listener = new VolumeMove.Listener() {
      private boolean switched = move.record().isSwitched();

      @Override
      public void progress(long done, long total) {
        progress.accept(switched ? total + done : done);
      }

      @Override
      public void switched(MoveRecord record) throws IOException {
        switched = true;
        List<String> exports = daemon.exports().moveVolume(source.name(), volume, destination.name());
        // A replicated volume's pair follows it (its pins moved with the volume; the resync sends what changed since).
        daemon.replicas().replicas().volumeMoved(source.path(), volume, destination.path());
        daemon.events().publish("migrate.switched", destination.name(), Map.of("volume", volume, "from", source.name(),
            "exports", exports));
      }
    };
    VolumeMove.Result r;
    try {
      r = move.run(listener, () -> daemon.jobs().isStopping());
    } catch (IOException | RuntimeException e) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("volume", volume);
      data.put("to", destination.name());
      data.put("error", e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
      data.put("resumable", move.record().isSwitched() || daemon.jobs().isStopping());
      daemon.events().publish("migrate.failed", source.name(), data);
      throw e;
    }
    daemon.events().publish("migrate.finished", destination.name(), result(r));
    return r;
  }

  /** Returns the figures of a finished move, as the job's result and the event's data. */
  static Map<String, Object> result(VolumeMove.Result r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("volume", r.volume());
    m.put("size", r.size());
    m.put("allocatedBytes", r.allocatedBytes());
    m.put("copiedBytes", r.copiedBytes());
    m.put("mirroredBytes", r.mirroredBytes());
    m.put("switchPauseMicros", r.switchPauseNanos() / 1000);
    m.put("verifiedBytes", r.verifiedBytes());
    m.put("changedAfterSwitchBytes", r.changedBytes());
    return m;
  }

  /**
   * Resumes every move recorded in the daemon's datastores as a job. A move whose destination this
   * daemon does not own stays recorded (the source is authoritative until the switch) and is
   * announced as {@code migrate.skipped}.
   */
  static void resumeAll(Daemon daemon) {
    for (ManagedDatastore source : daemon.all()) {
      List<MoveRecord> pending;
      try {
        pending = VolumeMove.pending(source.path());
      } catch (IOException e) {
        LOG.log(Level.WARNING, "cannot read the moves of " + source + ": " + e.getMessage());
        continue;
      }
      Set<String> ofVms = VmMigrations.ownedDisks(source);
      for (MoveRecord r : pending) {
        if (ofVms.contains(r.volume())) {
          continue; // the VM's move takes it up
        }
        try {
          ManagedDatastore destination = daemon.find(Path.of(r.destination())).orElseThrow(() ->
              new IllegalStateException("this daemon does not own the destination " + r.destination()));
          VolumeMove move = VolumeMove.resume(source.store(), destination.store(), r);
          if (move.record().isSwitched()) {
            daemon.exports().moveVolume(source.name(), r.volume(), destination.name());
          }
          daemon.jobs().submit(source.name(), JOB_KIND, r.volume(), true, ctx -> {
            long total = 2 * r.size();
            return result(execute(daemon, source, destination, move, done -> {
              ctx.checkCancelled();
              ctx.update(done, total);
            }));
          });
          LOG.log(Level.INFO, "resumed the " + r);
        } catch (IOException | RuntimeException e) {
          String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          LOG.log(Level.WARNING, "cannot resume the " + r + ": " + reason);
          daemon.events().publish("migrate.skipped", source.name(), Map.of("volume", r.volume(), "reason", reason));
        }
      }
    }
    VmMigrations.resumeAll(daemon);
  }
}
