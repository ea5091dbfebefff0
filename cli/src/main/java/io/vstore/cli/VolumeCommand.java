package io.vstore.cli;

import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.chain.ChainExport;
import io.vstore.vdisk.chain.ChainImport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore volume ...}: thin volumes of a datastore. */
@Command(name = "volume",
    description = "Create, list, inspect, resize, rename, delete, import, export, read and write volumes.",
    mixinStandardHelpOptions = true,
    subcommands = {VolumeCommand.Create.class, VolumeCommand.ListCmd.class, VolumeCommand.Info.class,
        VolumeCommand.Delete.class, VolumeCommand.Import.class, VolumeCommand.Export.class, VolumeCommand.Read.class,
        VolumeCommand.Write.class, VolumeCommand.Flatten.class, VolumeCommand.Rename.class,
        VolumeCommand.Resize.class})
final class VolumeCommand {
  private static final int COPY_BUFFER = 4 << 20;

  @Command(name = "create", description = "Create a thin volume.")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "Name of the new volume.") String name;
    @Parameters(index = "1", paramLabel = "SIZE", description = "Virtual size (e.g. 10G), a multiple of 512 bytes.")
    long size;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open(); Volume v = ds.createVolume(name, size)) {
        spec.commandLine().getOut().println("created volume " + v.name() + " (" + Sizes.format(size) + ")");
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List volumes in natural order (vm2 before vm10) with their origin: the "
      + "snapshot a linked clone was made from, the VM or the desktop pool a volume belongs to.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Option(names = "--pool", paramLabel = "POOL", description = "Only the volumes of this desktop pool.") String pool;
    @Option(names = "--vm", paramLabel = "VM", description = "Only the disks of this VM.") String vm;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        output.print(VolumeEntry.list(s, vm, pool), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code volumes} as a table. */
    static void print(PrintWriter out, List<VolumeEntry> volumes) {
      int width = Math.max(16, volumes.stream().mapToInt(v -> v.name().length()).max().orElse(0));
      out.printf("%-" + width + "s %12s %12s  %s%n", "NAME", "SIZE", "ALLOCATED", "ORIGIN");
      for (VolumeEntry v : volumes) {
        out.printf("%-" + width + "s %12s %12s  %s%n", v.name(), Sizes.format(v.size()), Sizes.format(v.allocated()),
            v.origin());
      }
    }
  }

  @Command(name = "info", description = "Show a volume's sizes, allocation and change id, or a snapshot's (VOLUME@SNAP).")
  static final class Info implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME[@SNAP]", description = "The volume, or one of its snapshots.")
    String name;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = SnapshotRef.parse(name); // a malformed name fails before the datastore opens
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        if (ref.isSnapshot()) {
          SnapshotInfo snap = s.store.snapshots(ref.volume()).stream().filter(x -> x.name().equals(ref.snapshot()))
              .findFirst().orElseThrow(() -> new IllegalArgumentException("no snapshot " + name));
          output.print(snap, (out, x) -> SnapshotCommand.ListCmd.print(out, List.of(x)));
        } else {
          output.print(VolumeEntry.get(s, name), Info::print);
        }
      }
      return 0;
    }

    /** Prints {@code v} as text. */
    static void print(PrintWriter out, VolumeEntry v) {
      out.println("volume: " + v.name());
      out.println("uuid: " + v.uuid());
      out.println("size: " + DatastoreCommand.human(v.size()));
      out.println("allocated: " + DatastoreCommand.human(v.allocated()) + " (stored, after compression)");
      out.println("mapped: " + DatastoreCommand.human(v.mapped()) + " (holding data, before compression)");
      out.println("unique: " + DatastoreCommand.human(v.unique()) + " (only the volume references it)");
      out.println("shared: " + DatastoreCommand.human(v.shared()) + " (shared with snapshots or the parent)");
      if (v.parent() != null) {
        out.println("parent: " + v.parent() + " (linked clone)");
      }
      if (v.vm() != null || v.pool() != null) {
        out.println("origin: " + v.origin());
      }
      out.println("snapshots: " + v.snapshotCount());
      out.println("change id: " + v.changeId());
      out.println("created: " + v.created());
    }
  }

  @Command(name = "delete", description = "Delete a volume and give its space back; refused while it has snapshots "
      + "unless -r.")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The volume to delete.") String name;
    @Option(names = {"-r", "--recursive"}, description = "Delete its snapshots too.") boolean recursive;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        String owner = s.inventory.owner(name, null);
        if (owner != null) {
          throw new IllegalStateException("volume " + name + " belongs to " + owner + "; delete it through 'vstore "
              + (owner.startsWith("VM") ? "vm" : "pool") + "'");
        }
        s.store.deleteVolume(name, recursive);
        spec.commandLine().getOut().println("deleted volume " + name);
      }
      return 0;
    }
  }

  @Command(name = "import", description = "Create a volume from a disk image file of any supported format "
      + "(detected from its content); holes and zeros are not copied. A backing chain becomes the volume's "
      + "history: one snapshot per level below the top.")
  static final class Import implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "FILE", description = "The image file to import.") Path file;
    @Parameters(index = "1", paramLabel = "NAME", description = "Name of the new volume.") String name;
    @Option(names = "-f", paramLabel = "FORMAT", description = "Source format (default: detected from content).")
    String format;
    @Mixin ProgressOptions progressOptions;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open(); DiskImage src = ImageFormats.open(file, format, true)) {
        List<String> history;
        try (Progress progress = progressOptions.bar("import " + name, src.size())) {
          history = ChainImport.run(ds, name, src, progress.scaled());
        }
        spec.commandLine().getOut().println("imported " + file + " (" + src.info().format() + ") into volume " + name
            + ": allocated " + Sizes.format(ds.volumeInfo(name).allocated())
            + (history.isEmpty() ? "" : "; its backing chain became snapshots " + String.join(", ", history)));
      }
      return 0;
    }
  }

  @Command(name = "export", description = "Write a volume or snapshot to a disk image file (sparse: holes stay holes);"
      + " FILE '-' writes raw to stdout.")
  static final class Export implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME[@SNAP]", description = "The volume or snapshot to export.")
    String name;
    @Parameters(index = "1", paramLabel = "FILE", description = "The image file to create, or '-' for stdout (raw).")
    Path file;
    @Option(names = "-O", paramLabel = "FORMAT", defaultValue = "raw",
        description = "Output format: raw, qcow2, vmdk, vpc, vhdx, vdi (default: ${DEFAULT-VALUE}).") String format;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "Format options, as qemu-img's -o.")
    List<String> options = new ArrayList<>();
    @Option(names = "--chain", description = "Export the snapshots too, as a chain of delta images (FILE is the top;"
        + " each snapshot goes to FILE's name with -SNAPSHOT; qcow2, vmdk, vpc).")
    boolean chain;
    @Option(names = "--force", description = "Overwrite FILE if it exists.") boolean force;
    @Mixin ProgressOptions progressOptions;

    @Override
    public Integer call() throws Exception {
      PrintWriter report = spec.commandLine().getOut();
      if (StdIo.isStd(spec, "FILE")) {
        if (chain || !ImageFormats.RAW.equals(format)) {
          throw new IllegalArgumentException("export to '-' (stdout) writes raw only: drop -O " + format
              + (chain ? " and --chain" : ""));
        }
        try (Datastore ds = location.open(); Volume v = ds.volume(name, true);
            Progress progress = progressOptions.bar("export " + name, v.size())) {
          copyOut(v, 0, v.size(), StdIo.out(), progress);
        }
        return 0;
      }
      Path path = file;
      if (chain) {
        try (Datastore ds = location.open()) {
          List<Path> files;
          if (force) {
            Files.deleteIfExists(path);
          }
          try (Progress progress = progressOptions.bar("export " + name, ds.volumeInfo(name).size())) {
            files = ChainExport.run(ds, name, path, format, ImageCommand.options(options), progress.scaled());
          }
          report.println("exported volume " + name + " as a chain of " + files.size() + " "
              + format + " images: " + files.stream().map(p -> p.getFileName().toString())
              .collect(java.util.stream.Collectors.joining(" <- ")));
        }
        return 0;
      }
      StdIo.checkOverwrite(path, force);
      try (Datastore ds = location.open(); Volume v = ds.volume(name, true)) {
        Files.deleteIfExists(path);
        CreateOptions create = new CreateOptions(ImageCommand.options(options), null, null);
        boolean success = false;
        try (DiskImage dst = ImageFormats.create(path, format, v.size(), create);
            Progress progress = progressOptions.bar("export " + name, v.size())) {
          long cluster = dst.info().clusterSize();
          int granule = cluster > 0 && cluster <= (2 << 20) ? (int) cluster : 4096;
          ImageConversion.copy(v, dst, Runtime.getRuntime().availableProcessors(), granule, dst.sequentialWritesOnly(),
              progress);
          dst.flush();
          success = true;
        } finally {
          if (!success) {
            Files.deleteIfExists(path);
          }
        }
        report.println("exported volume " + name + " to " + file + " (" + format + ")");
      }
      return 0;
    }
  }

  /** Copies {@code length} bytes at {@code offset} of {@code v} to {@code out} in order, reporting progress. */
  static void copyOut(Volume v, long offset, long length, java.io.OutputStream out, Progress progress)
      throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(COPY_BUFFER);
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(COPY_BUFFER, length - done);
      buf.clear().limit(n);
      v.read(offset + done, buf);
      out.write(buf.array(), 0, n);
      done += n;
      progress.accept(done);
    }
    out.flush();
  }

  @Command(name = "read", description = "Copy LENGTH bytes at OFFSET of a volume or snapshot into FILE ('-' for stdout).")
  static final class Read implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VOLUME[@SNAP]", description = "The volume or snapshot to read.") String name;
    @Parameters(index = "1", paramLabel = "OFFSET", description = "Where to start, in bytes (e.g. 1M).") long offset;
    @Parameters(index = "2", paramLabel = "LENGTH", description = "How many bytes (e.g. 4K).") long length;
    @Parameters(index = "3", paramLabel = "FILE", description = "The file to write, or '-' for stdout.") Path file;
    @Option(names = "--force", description = "Overwrite FILE if it exists.") boolean force;
    @Mixin ProgressOptions progressOptions;

    @Override
    public Integer call() throws Exception {
      boolean std = StdIo.isStd(spec, "FILE");
      if (!std) {
        StdIo.checkOverwrite(file, force);
      }
      try (Datastore ds = location.open(); Volume v = ds.volume(name, true)) {
        OutOfRangeException.check(v, offset, length);
        try (java.io.OutputStream out = std ? StdIo.out() : Files.newOutputStream(file);
            Progress progress = progressOptions.bar("read " + name, length)) {
          copyOut(v, offset, length, out, progress);
        }
      }
      return 0;
    }
  }

  @Command(name = "write", description = "Write FILE's bytes ('-': stdin's) into a volume at OFFSET (like dd conv=notrunc).")
  static final class Write implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The volume to write.") String name;
    @Parameters(index = "1", paramLabel = "OFFSET", description = "Where to write, in bytes (e.g. 1M).") long offset;
    @Parameters(index = "2", paramLabel = "FILE", description = "The file to read, or '-' for stdin.") Path file;

    @Override
    public Integer call() throws Exception {
      boolean std = StdIo.isStd(spec, "FILE");
      if (!std && !Files.exists(file)) {
        throw new NoSuchFileException(file.toString());
      }
      try (Datastore ds = location.open(); Volume v = ds.volume(name);
          InputStream in = std ? StdIo.in() : Files.newInputStream(file)) {
        if (!std) {
          OutOfRangeException.check(v, offset, Files.size(file)); // all or nothing when the length is known
        }
        byte[] chunk = new byte[COPY_BUFFER];
        long done = 0;
        for (int n; (n = in.readNBytes(chunk, 0, chunk.length)) > 0; done += n) {
          OutOfRangeException.check(v, offset + done, n);
          v.write(offset + done, ByteBuffer.wrap(chunk, 0, n));
        }
        v.flush();
        spec.commandLine().getOut().println("wrote " + done + " bytes to volume " + name + " at offset " + offset);
      }
      return 0;
    }
  }

  @Command(name = "resize", description = "Change a volume's virtual size: grow to SIZE or by +SIZE; shrink "
      + "(losing the data past the new end) only with --allow-shrink. Refused while it has snapshots.")
  static final class Resize implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The volume.") String name;
    @Parameters(index = "1", paramLabel = "[+]SIZE", description = "The new size (e.g. 20G), or +SIZE to grow by.")
    String size;
    @Option(names = "--allow-shrink", description = "Allow making the volume smaller.") boolean allowShrink;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        long old = ds.volumeInfo(name).size();
        long target = ImageResize.target(old, size);
        ds.resizeVolume(name, target, allowShrink);
        spec.commandLine().getOut().println("resized volume " + name + " from " + Sizes.format(old) + " to "
            + Sizes.format(target));
      }
      return 0;
    }
  }

  @Command(name = "rename", description = "Rename a volume; its snapshots and clones follow it. A VM's or a pool's "
      + "volume is named by its owner and cannot be renamed.")
  static final class Rename implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The volume.") String name;
    @Parameters(index = "1", paramLabel = "NEW", description = "Its new name.") String newName;

    @Override
    public Integer call() throws Exception {
      SnapshotRef.checkName("volume", newName); // a malformed name fails before the datastore opens
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        String owner = s.inventory.owner(name, null);
        if (owner != null) {
          throw new IllegalStateException("volume " + name + " belongs to " + owner + "; its owner names its volumes");
        }
        s.store.renameVolume(name, newName);
        spec.commandLine().getOut().println("renamed volume " + name + " to " + newName);
      }
      return 0;
    }
  }

  @Command(name = "flatten", description = "Copy up what a linked clone shares with its parent snapshot, "
      + "so that it no longer depends on it.")
  static final class Flatten implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The linked clone to flatten.") String name;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        ds.flatten(name);
        spec.commandLine().getOut().println("flattened volume " + name + ": it no longer depends on its parent");
      }
      return 0;
    }
  }
}
