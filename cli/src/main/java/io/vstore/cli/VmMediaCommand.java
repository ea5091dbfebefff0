package io.vstore.cli;

import io.vstore.engine.MediaFile;
import io.vstore.engine.VmMedia;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore vm media ...}: a VM's media files (ISO images for its CD/DVD drive, floppy images,
 * its firmware's NVRAM), kept in the datastore with the VM, exported with it as OVF File references.
 */
@Command(name = "media", description = "Add, list and remove a VM's media files (ISO images, floppy images, NVRAM).",
    mixinStandardHelpOptions = true,
    subcommands = {VmMediaCommand.Add.class, VmMediaCommand.ListCmd.class, VmMediaCommand.Remove.class})
final class VmMediaCommand {
  private VmMediaCommand() {}

  @Command(name = "add", description = "Copy a file into a VM's media files: an ISO its CD/DVD drive holds (the default),"
      + " a floppy image or its NVRAM; an OVF export writes it with the VM.")
  static final class Add implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM", description = "The VM.") String vm;
    @Parameters(index = "1", paramLabel = "FILE", description = "The file to copy.") Path file;
    @Option(names = "--name", paramLabel = "NAME", description = "Its name in the VM (default: the file's name).")
    String name;
    @Option(names = "--role", paramLabel = "ROLE", defaultValue = MediaFile.CDROM,
        description = "cdrom (an ISO for the CD/DVD drive), floppy or nvram (default: ${DEFAULT-VALUE}).") String role;

    @Override
    public Integer call() throws Exception {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException("bad media file: " + file + " is not a file");
      }
      String as = name != null ? name : file.getFileName().toString();
      VmMedia.checkName(as);
      String r = role.toLowerCase(Locale.ROOT);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr());
          InputStream in = Files.newInputStream(file)) {
        MediaFile m = s.inventory.media().add(vm, as, r, in, Files.size(file), x -> {});
        spec.commandLine().getOut().println("added " + describe(m) + " to VM " + vm);
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List a VM's media files: name, role, size, SHA-256 and the volume holding it.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM", description = "The VM.") String vm;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        output.print(s.inventory.media().list(vm), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code media} as a table. */
    static void print(PrintWriter out, List<MediaFile> media) {
      out.printf("%-32s %-7s %10s %-20s %s%n", "NAME", "ROLE", "SIZE", "VOLUME", "SHA256");
      for (MediaFile m : media) {
        out.printf("%-32s %-7s %10s %-20s %s%n", m.name(), m.role(), Sizes.format(m.size()), m.volume(), m.sha256());
      }
    }
  }

  @Command(name = "remove", description = "Remove a media file from a VM (its drive is then exported empty).")
  static final class Remove implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM", description = "The VM.") String vm;
    @Parameters(index = "1", paramLabel = "NAME", description = "The media file's name in the VM.") String name;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.media().remove(vm, name);
        spec.commandLine().getOut().println("removed media file " + name + " from VM " + vm);
      }
      return 0;
    }
  }

  /** Returns one line about {@code m}: name, role, size and digest. */
  static String describe(MediaFile m) {
    return "media file " + m.name() + " (" + m.role() + ", " + Sizes.format(m.size()) + ", sha256 " + m.sha256() + ")";
  }
}
