package io.vstore.cli;

import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.chain.ChainExport;
import io.vstore.vdisk.chain.ChainImport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
@Command(name = "volume", description = "Create, list, inspect, delete, import, export, read and write volumes.",
    mixinStandardHelpOptions = true,
    subcommands = {VolumeCommand.Create.class, VolumeCommand.ListCmd.class, VolumeCommand.Info.class,
        VolumeCommand.Delete.class, VolumeCommand.Import.class, VolumeCommand.Export.class, VolumeCommand.Read.class,
        VolumeCommand.Write.class, VolumeCommand.Flatten.class})
final class VolumeCommand {
  private static final int COPY_BUFFER = 4 << 20;

  @Command(name = "create", description = "Create a thin volume.")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;
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

  @Command(name = "list", description = "List volumes.")
  static final class ListCmd implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.volumes(), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code volumes} as a table. */
    static void print(PrintWriter out, List<VolumeInfo> volumes) {
      out.printf("%-32s %12s %12s%n", "NAME", "SIZE", "ALLOCATED");
      for (VolumeInfo v : volumes) {
        out.printf("%-32s %12s %12s%n", v.name(), Sizes.format(v.size()), Sizes.format(v.allocated()));
      }
    }
  }

  @Command(name = "info", description = "Show a volume's sizes, allocation and change id.")
  static final class Info implements Callable<Integer> {
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open()) {
        output.print(ds.volumeInfo(name), Info::print);
      }
      return 0;
    }

    /** Prints {@code v} as text. */
    static void print(PrintWriter out, VolumeInfo v) {
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
      out.println("snapshots: " + v.snapshots());
      out.println("change id: " + v.changeId());
      out.println("created: " + v.created());
    }
  }

  @Command(name = "delete", description = "Delete a volume and release its space.")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        String owner = s.inventory.owner(name, null);
        if (owner != null) {
          throw new IllegalStateException("volume " + name + " belongs to " + owner + "; delete it through 'vstore "
              + (owner.startsWith("VM") ? "vm" : "pool") + "'");
        }
        s.store.deleteVolume(name);
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
    @Parameters(index = "0", paramLabel = "FILE") Path file;
    @Parameters(index = "1", paramLabel = "NAME") String name;
    @Option(names = "-f", paramLabel = "FORMAT", description = "Source format (default: detected from content).")
    String format;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open(); DiskImage src = ImageFormats.open(file, format, true)) {
        List<String> history;
        try (Progress progress = new Progress("import " + name, src.size())) {
          history = ChainImport.run(ds, name, src, progress.scaled());
        }
        spec.commandLine().getOut().println("imported " + file + " (" + src.info().format() + ") into volume " + name
            + ": allocated " + Sizes.format(ds.volumeInfo(name).allocated())
            + (history.isEmpty() ? "" : "; its backing chain became snapshots " + String.join(", ", history)));
      }
      return 0;
    }
  }

  @Command(name = "export", description = "Write a volume to a disk image file (sparse: holes stay holes).")
  static final class Export implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;
    @Parameters(index = "1", paramLabel = "FILE") Path file;
    @Option(names = "-O", paramLabel = "FORMAT", defaultValue = "raw",
        description = "Output format: raw, qcow2, vmdk, vpc, vhdx, vdi (default: ${DEFAULT-VALUE}).") String format;
    @Option(names = "-o", paramLabel = "KEY=VALUE,...", description = "Format options, as qemu-img's -o.")
    List<String> options = new ArrayList<>();
    @Option(names = "--chain", description = "Export the snapshots too, as a chain of delta images (FILE is the top;"
        + " each snapshot goes to FILE's name with -SNAPSHOT; qcow2, vmdk, vpc).")
    boolean chain;

    @Override
    public Integer call() throws Exception {
      if (chain) {
        try (Datastore ds = location.open()) {
          List<Path> files;
          try (Progress progress = new Progress("export " + name, ds.volumeInfo(name).size())) {
            files = ChainExport.run(ds, name, file, format, ImageCommand.options(options), progress.scaled());
          }
          spec.commandLine().getOut().println("exported volume " + name + " as a chain of " + files.size() + " "
              + format + " images: " + files.stream().map(p -> p.getFileName().toString())
              .collect(java.util.stream.Collectors.joining(" <- ")));
        }
        return 0;
      }
      if (Files.exists(file)) {
        throw new IllegalArgumentException("will not overwrite " + file + ": it exists");
      }
      try (Datastore ds = location.open(); Volume v = ds.volume(name, true)) {
        CreateOptions create = new CreateOptions(ImageCommand.options(options), null, null);
        boolean success = false;
        try (DiskImage dst = ImageFormats.create(file, format, v.size(), create);
            Progress progress = new Progress("export " + name, v.size())) {
          long cluster = dst.info().clusterSize();
          int granule = cluster > 0 && cluster <= (2 << 20) ? (int) cluster : 4096;
          ImageConversion.copy(v, dst, Runtime.getRuntime().availableProcessors(), granule, dst.sequentialWritesOnly(),
              progress);
          dst.flush();
          success = true;
        } finally {
          if (!success) {
            Files.deleteIfExists(file);
          }
        }
        spec.commandLine().getOut().println("exported volume " + name + " to " + file + " (" + format + ")");
      }
      return 0;
    }
  }

  @Command(name = "read", description = "Copy LENGTH bytes at OFFSET of a volume into FILE ('-' for stdout).")
  static final class Read implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;
    @Parameters(index = "1", paramLabel = "OFFSET") long offset;
    @Parameters(index = "2", paramLabel = "LENGTH") long length;
    @Parameters(index = "3", paramLabel = "FILE") String file;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open(); Volume v = ds.volume(name, true)) {
        OutOfRangeException.check(v, offset, length);
        var out = "-".equals(file) ? java.nio.channels.Channels.newChannel(System.out)
            : FileChannel.open(Path.of(file), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        try (out) {
          ByteBuffer buf = ByteBuffer.allocateDirect(COPY_BUFFER);
          for (long done = 0; done < length; ) {
            int n = (int) Math.min(COPY_BUFFER, length - done);
            buf.clear().limit(n);
            v.read(offset + done, buf);
            buf.flip();
            while (buf.hasRemaining()) {
              out.write(buf);
            }
            done += n;
          }
        }
        System.out.flush();
      }
      return 0;
    }
  }

  @Command(name = "write", description = "Write FILE's bytes into a volume at OFFSET (like dd conv=notrunc).")
  static final class Write implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;
    @Parameters(index = "1", paramLabel = "OFFSET") long offset;
    @Parameters(index = "2", paramLabel = "FILE") Path file;

    @Override
    public Integer call() throws Exception {
      try (Datastore ds = location.open(); Volume v = ds.volume(name);
          FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
        long length = in.size();
        OutOfRangeException.check(v, offset, length);
        ByteBuffer buf = ByteBuffer.allocateDirect(COPY_BUFFER);
        for (long done = 0; done < length; ) {
          buf.clear();
          int n = in.read(buf, done);
          if (n < 0) {
            throw new IOException(file + " shrank while being read");
          }
          buf.flip();
          v.write(offset + done, buf);
          done += n;
        }
        v.flush();
        spec.commandLine().getOut().println("wrote " + length + " bytes to volume " + name + " at offset " + offset);
      }
      return 0;
    }
  }

  @Command(name = "flatten", description = "Copy up what a linked clone shares with its parent snapshot, "
      + "so that it no longer depends on it.")
  static final class Flatten implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Parameters(index = "0", paramLabel = "NAME") String name;

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
