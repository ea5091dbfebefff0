package io.vstore.cli;

import io.vstore.backup.instant.InstantRestore;
import io.vstore.backup.instant.PointSource;
import io.vstore.backup.instant.RestoreRecord;
import io.vstore.backup.repo.KeySource;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.exports.ExportInfo;
import io.vstore.server.exports.ExportSource;
import io.vstore.server.jobs.JobInfo;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The daemon's side of instant restore: starts one (volume, NBD export and background copy job),
 * and at daemon start resumes every restore a datastore records.
 */
final class InstantRestores {
  /** The job kind of the background copy. */
  static final String JOB_KIND = "instant-restore";
  private static final System.Logger LOG = System.getLogger(InstantRestores.class.getName());

  private InstantRestores() {}

  /** A started instant restore as {@code --json} prints it: the point, the volume, its export and the copy job. */
  record Served(String point, String volume, long size, ExportInfo export, JobInfo job) {}

  /** What a started restore is: its export and its copy job. */
  record Started(ExportInfo export, JobInfo job, RestoreRecord record) {}

  /**
   * Creates volume {@code volume} in {@code ds} over point {@code point} of the repository at
   * {@code repository}, exports it over NBD as {@code exportName} (default: the volume's name) and
   * starts the copy. Nothing here costs in proportion to the volume's size.
   *
   * @param keyFile the passphrase or key file given, or null (then the daemon's
   *     {@code VSTORE_BACKUP_PASSPHRASE}, if set, unlocks the repository, now and on resume)
   */
  static Started start(Daemon daemon, ManagedDatastore ds, String repository, Path keyFile, boolean keyIsPassphrase,
      String point, String volume, String exportName) throws IOException {
    SnapshotRef ref = SnapshotRef.parse(volume);
    if (ref.isSnapshot()) {
      throw new IllegalArgumentException("--to-volume names a volume, not a snapshot: " + volume);
    }
    String export = exportName == null ? volume : exportName;
    if (daemon.exports().nbdAddress() == null) {
      throw new IllegalStateException("instant restore serves the volume over NBD, and this daemon serves no NBD "
          + "(start vstore serve with --nbd-listen HOST:PORT)");
    }
    if (daemon.exports().has(export)) {
      throw new IllegalStateException("export " + export + " already exists: choose another name with --export NAME");
    }
    PointSource source = PointSource.open(repository, key(keyFile, keyIsPassphrase), point);
    InstantRestore restore;
    try {
      RestoreRecord record = InstantRestore.newRecord(volume, repository, source.pointId(), export,
          keyFile == null ? null : keyFile.toString(), keyIsPassphrase, source.chunkSize(), source.size());
      restore = InstantRestore.start(ds.store(), source, record);
    } catch (IOException | RuntimeException e) {
      try {
        source.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    ExportInfo info = daemon.exports().addOpened(ds.name(), export, new ExportSource.VolumeSource(ref),
        restore.device(), false);
    JobInfo job = submitCopy(daemon, ds, restore);
    return new Started(info, job, restore.record());
  }

  /**
   * Runs {@code vstore restore POINT --repo REPO --instant --to-volume NAME [--export NAME]} in the
   * daemon (the restore command delegates here) and prints where the volume is served.
   */
  static int command(DatastoreLocation location, String repo, Path passphraseFile, Path keyFile, String point,
      String volume, String export, OutputOptions output) throws IOException {
    if (passphraseFile != null && keyFile != null) {
      throw new IllegalArgumentException("give --passphrase-file or --key-file, not both");
    }
    Daemon daemon = BackupMounts.daemon("restore --instant");
    ManagedDatastore ds = location.managed();
    String where = DaemonContext.path(repo).toAbsolutePath().normalize().toString();
    Path file = passphraseFile != null ? DaemonContext.path(passphraseFile.toString()).toAbsolutePath()
        : keyFile != null ? DaemonContext.path(keyFile.toString()).toAbsolutePath() : null;
    Started s = start(daemon, ds, where, file, passphraseFile != null, point, volume, export);
    output.print(new Served(s.record().point(), volume, s.record().size(), s.export(), s.job()), (out, r) ->
        out.println("restoring point " + r.point() + " into volume " + r.volume() + " (" + Sizes.format(r.size())
            + "): served now as " + r.export().uri() + "; copy job " + r.job().id() + " (vstore job wait "
            + r.job().id() + ")"));
    return 0;
  }

  /**
   * Resumes every instant restore recorded in the daemon's datastores: reopens the point, lays the
   * volume over it again, exports it and restarts the copy. A restore that cannot resume (the
   * repository is gone, the key is not available) is logged and announced, and stays recorded.
   */
  static void resumeAll(Daemon daemon) {
    for (ManagedDatastore ds : daemon.all()) {
      java.util.List<RestoreRecord> pending;
      try {
        pending = InstantRestore.pending(ds.path());
      } catch (IOException e) {
        LOG.log(Level.WARNING, "cannot read the instant restores of " + ds + ": " + e.getMessage());
        continue;
      }
      for (RestoreRecord r : pending) {
        try {
          resume(daemon, ds, r);
        } catch (IOException | RuntimeException e) {
          String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          LOG.log(Level.WARNING, "cannot resume the instant restore of " + r.volume() + " in " + ds + ": " + reason);
          daemon.events().publish("instant-restore.skipped", ds.name(), Map.of("volume", r.volume(), "reason", reason));
        }
      }
    }
  }

  private static void resume(Daemon daemon, ManagedDatastore ds, RestoreRecord r) throws IOException {
    if (!ds.store().hasVolume(r.volume())) {
      // Deleted, or a crash came between the record and the volume: nothing to resume.
      InstantRestore.forget(ds.path(), r.volume());
      LOG.log(Level.WARNING, "dropping the instant restore of " + r.volume() + " in " + ds + ": the volume is gone");
      return;
    }
    PointSource source = PointSource.open(r.repository(), key(r.keyFile() == null ? null : Path.of(r.keyFile()),
        r.keyIsPassphrase()), r.point());
    InstantRestore restore;
    try {
      restore = InstantRestore.resume(ds.store(), r, source);
    } catch (IOException | RuntimeException e) {
      try {
        source.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    if (r.export() != null && !daemon.exports().has(r.export())) {
      daemon.exports().addOpened(ds.name(), r.export(), new ExportSource.VolumeSource(SnapshotRef.parse(r.volume())),
          restore.device(), false);
    }
    submitCopy(daemon, ds, restore);
    LOG.log(Level.INFO, "resumed the instant restore of " + r.volume() + " in " + ds + " at " + r.cursor() + " of "
        + r.size() + " bytes");
  }

  private static JobInfo submitCopy(Daemon daemon, ManagedDatastore ds, InstantRestore restore) {
    RestoreRecord r = restore.record();
    // A light job: it starts at once, whatever heavy jobs queue, since the guest already runs on it.
    return daemon.jobs().submit(ds.name(), JOB_KIND, r.volume(), false, ctx -> {
      boolean complete = restore.copy(ctx::update, ctx::isCancelled);
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("volume", r.volume());
      result.put("point", r.point());
      result.put("complete", complete);
      if (complete) {
        if (r.export() != null && daemon.exports().has(r.export())) {
          daemon.exports().keep(r.export()); // a plain volume export from now on, also after a restart
        }
      } else {
        result.put("copiedUpTo", restore.record().cursor());
        result.put("note", "the volume still reads from the backup; the copy resumes when the daemon restarts");
      }
      return result;
    });
  }

  /** Returns what unlocks the repository: the file given, else the daemon's environment, else nothing. */
  static KeySource key(Path keyFile, boolean isPassphrase) throws IOException {
    if (keyFile != null) {
      return isPassphrase ? KeySource.fromPassphraseFile(keyFile) : KeySource.fromKeyFile(keyFile);
    }
    String env = System.getenv("VSTORE_BACKUP_PASSPHRASE");
    return env == null || env.isEmpty() ? null : new KeySource.Passphrase(env.toCharArray());
  }
}
