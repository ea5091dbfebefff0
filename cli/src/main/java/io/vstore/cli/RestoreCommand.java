package io.vstore.cli;

import io.vstore.backup.engine.PointRestore;
import io.vstore.backup.engine.RestoreProgress;
import io.vstore.backup.maint.LockKind;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore restore POINT --repo REPO (--to-volume NAME [--force-replace] | --to-file FILE -O FMT)}:
 * writes a backup point into a new volume or image file, in parallel and sparsely, resumably.
 *
 * <p>A volume is restored into a work volume {@code NAME.restore} that becomes {@code NAME} only when
 * complete (replacing the old one with {@code --force-replace}), so a partial restore never passes
 * for the real volume. Its progress record lives in the datastore's {@code restores/} directory; a
 * file's beside the file ({@code FILE.restore-progress}). Rerunning the same command after an
 * interruption continues where it stopped.
 */
@Command(name = "restore", mixinStandardHelpOptions = true,
    description = "Restore a backup point into a new volume (or in place of one) or an image file; an interrupted "
        + "restore continues when run again.")
final class RestoreCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin DatastoreLocation location;
  @Parameters(index = "0", paramLabel = "POINT", description = "The point's id or a unique prefix.") String point;
  @Mixin BackupRepoOptions repoOptions;
  @ArgGroup(exclusive = true, multiplicity = "1") Target target;
  @Option(names = "--force-replace", description = "With --to-volume: replace an existing volume (and its "
      + "snapshots) once the restore is complete.") boolean forceReplace;
  @Option(names = "-O", paramLabel = "FORMAT", defaultValue = "raw",
      description = "With --to-file: raw, qcow2, vmdk, vpc, vhdx, vdi (default: ${DEFAULT-VALUE}).") String format;
  @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "With --to-file: format options, as qemu-img's -o.")
  List<String> options = new ArrayList<>();
  @Option(names = "--workers", paramLabel = "N", description = "Threads fetching and writing chunks.") Integer workers;
  @Mixin ProgressOptions progressOptions;
  @Mixin OutputOptions output;
  @Option(names = "--instant", description = "With --to-volume: serve the new volume over NBD at once (through the "
      + "daemon) while a background job copies the point in; the guest's writes land in the volume.") boolean instant;
  @Option(names = "--export", paramLabel = "NAME", description = "With --instant: the NBD export name (default: the "
      + "volume's name).") String export;

  /** Where the point goes. */
  static final class Target {
    @Option(names = "--to-volume", paramLabel = "NAME", required = true, description = "Restore into volume NAME.")
    String volume;
    @Option(names = "--to-file", paramLabel = "FILE", required = true, description = "Restore into image file FILE.")
    Path file;
  }

  @Override
  public Integer call() throws Exception {
    if (target.file != null && forceReplace) {
      throw new IllegalArgumentException("--force-replace goes with --to-volume");
    }
    PrintWriter err = spec.commandLine().getErr();
    if (instant || export != null) {
      if (target.volume == null || forceReplace || !instant) {
        throw new IllegalArgumentException("--instant goes with --to-volume (not --force-replace), and --export with "
            + "--instant");
      }
      return InstantRestores.command(location, repoOptions.repo, repoOptions.passphraseFile, repoOptions.keyFile,
          point, target.volume, export, output);
    }
    try (BackupRepoOptions.Opened opened = repoOptions.open(LockKind.RESTORE, point); Repository repo = opened.repo();
        PointReader p = repo.openPoint(point);
        BackupProgress listener = new BackupProgress(progressOptions, err)) {
      PointRestore restore = new PointRestore(repo, p, listener);
      if (workers != null) {
        restore.workers(workers);
      }
      Restored done = target.file != null ? toFile(restore, p) : toVolume(restore, p);
      listener.close();
      output.print(done, (o, r) -> o.println(r.text()));
    }
    return 0;
  }

  /**
   * What was restored, as {@code --json} prints it: the point, its source, the bytes of data
   * written and the target (a volume or a file and its format).
   */
  record Restored(String point, String source, long bytes, String volume, String file, String format,
      @com.fasterxml.jackson.annotation.JsonIgnore String text) {}

  private Restored toFile(PointRestore restore, PointReader p) throws Exception {
    Path file = target.file;
    Path record = file.resolveSibling(file.getFileName() + ".restore-progress");
    RestoreProgress progress = RestoreProgress.load(record);
    DiskImage img;
    if (progress != null) {
      if (!Files.exists(file)) {
        throw new IllegalArgumentException("restore progress record " + record + " names a partial " + file
            + ", which is gone: remove the record");
      }
      img = ImageFormats.open(file, format, false);
    } else {
      if (Files.exists(file)) {
        throw new IllegalArgumentException("file " + file + " exists: remove it or choose another");
      }
      img = ImageFormats.create(file, format, p.size(), new CreateOptions(ImageCommand.options(options), null, null));
      new RestoreProgress(p.info().id(), p.size(), p.chunkSize(), 0).save(record);
    }
    try (DiskImage target = img) {
      long bytes = restore.progressFile(record).into(target);
      return new Restored(p.info().id(), p.info().source(), bytes, null, file.toString(), format,
          "restored point " + p.info().id() + " (" + p.info().source() + ", " + Sizes.format(bytes)
          + " of data) to " + file + " (" + format + ")");
    }
  }

  private Restored toVolume(PointRestore restore, PointReader p) throws Exception {
    String name = target.volume;
    try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
      Datastore ds = s.store;
      if (ds.hasVolume(name) && !forceReplace) {
        throw new IllegalArgumentException("volume " + name + " exists: restore to another name, or replace it with "
            + "--force-replace");
      }
      String owner = ds.hasVolume(name) ? s.inventory.owner(name, null) : null;
      // A VM's disk may be replaced (the VM names it, not its contents) unless its snapshots are the VM's tree.
      if (owner != null && (!owner.startsWith("VM ") || !ds.snapshots(name).isEmpty())) {
        throw new IllegalArgumentException("volume " + name + " belongs to " + owner + (owner.startsWith("VM ")
            ? " and has snapshots in its tree" : "") + ": it cannot be replaced under it");
      }
      String work = name + ".restore";
      Path dir = Files.createDirectories(ds.path().resolve("restores"));
      Path record = dir.resolve(work + ".progress");
      RestoreProgress progress = RestoreProgress.load(record);
      if (ds.hasVolume(work) && progress == null) {
        throw new IllegalArgumentException("volume " + work + " exists but no restore is recorded for it: delete it"
            + " ('vstore volume delete " + work + "') and run the restore again");
      }
      if (!ds.hasVolume(work)) {
        if (progress != null) {
          java.nio.file.Files.delete(record); // a record whose work volume is gone: start afresh
        }
        ds.createVolume(work, p.size()).close();
        new RestoreProgress(p.info().id(), p.size(), p.chunkSize(), 0).save(record);
      }
      long bytes;
      try (Volume v = ds.volume(work)) {
        bytes = restore.progressFile(record).into(v);
      }
      String replaced = "";
      if (ds.hasVolume(name)) {
        String old = name + ".replaced";
        ds.renameVolume(name, old);
        ds.renameVolume(work, name);
        ds.deleteVolume(old, true);
        replaced = ", replacing the volume that was there";
      } else {
        ds.renameVolume(work, name);
      }
      return new Restored(p.info().id(), p.info().source(), bytes, name, null, null,
          "restored point " + p.info().id() + " (" + p.info().source() + ", " + Sizes.format(bytes)
          + " of data) to volume " + name + replaced);
    }
  }
}
