package io.vstore.cli;

import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.qcow2.Qcow2Format;
import io.vstore.vdisk.qcow2.Qcow2Snapshots;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vstore image snapshot (-c NAME | -l | -a NAME | -d NAME) FILE}: internal snapshots of a
 * qcow2 image, as {@code qemu-img snapshot}: create, list, apply (revert the image to it) and
 * delete. A snapshot is found by id first, then by name, as qemu-img does.
 */
@Command(name = "snapshot", description = "Create, list, apply or delete internal snapshots of a qcow2 image, as "
    + "qemu-img snapshot.")
final class ImageSnapshot implements Callable<Integer> {
  private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
      .withZone(ZoneId.systemDefault());

  @ArgGroup(exclusive = true, multiplicity = "1") Action action;
  @Parameters(index = "0", paramLabel = "FILE", description = "The qcow2 image.") Path file;
  @Option(names = "-f", paramLabel = "FMT", description = "Format (default: detected; only qcow2 has snapshots).")
  String format;
  @Mixin OutputOptions output;

  /** Exactly one thing to do. */
  static final class Action {
    @Option(names = "-c", paramLabel = "NAME", description = "Create snapshot NAME of the current content.")
    String create;
    @Option(names = "-l", description = "List the snapshots.") boolean list;
    @Option(names = "-a", paramLabel = "SNAPSHOT", description = "Apply (revert the image to) SNAPSHOT, an id or name.")
    String apply;
    @Option(names = "-d", paramLabel = "SNAPSHOT", description = "Delete SNAPSHOT, an id or name.") String delete;
  }

  /**
   * One snapshot as listed.
   *
   * @param id the unique id
   * @param name the name (tag)
   * @param vmStateSize bytes of saved VM state (0: disk only)
   * @param diskSize the virtual size when taken, or null when the image does not record it
   * @param dateSec creation time, seconds since the epoch
   * @param dateNsec nanoseconds of the creation time
   * @param vmClockNsec guest clock at creation, nanoseconds
   * @param icount instruction count of record/replay, or null when not recorded
   */
  record Entry(String id, String name, long vmStateSize, Long diskSize, long dateSec, int dateNsec, long vmClockNsec,
      Long icount) {}

  @Override
  public Integer call() throws Exception {
    ImageFormat f = format == null ? ImageFormats.detect(file) : ImageFormats.byName(format);
    if (!f.name().equals(Qcow2Format.NAME)) {
      throw new UnsupportedFormatException("unsupported: internal snapshots of " + f.name()
          + " images (qcow2 only, as in qemu-img): " + file);
    }
    if (action.create != null) {
      Qcow2Snapshots.create(file, action.create);
    } else if (action.apply != null) {
      Qcow2Snapshots.apply(file, action.apply);
    } else if (action.delete != null) {
      Qcow2Snapshots.delete(file, action.delete);
    } else {
      List<Entry> out = new ArrayList<>();
      for (Qcow2Snapshots.Snapshot s : Qcow2Snapshots.list(file)) {
        out.add(new Entry(s.id(), s.name(), s.vmStateSize(), s.diskSize() < 0 ? null : s.diskSize(), s.dateSec(),
            s.dateNsec(), s.vmClockNsec(), s.icount() < 0 ? null : s.icount()));
      }
      output.print(out, ImageSnapshot::print);
    }
    return 0;
  }

  /** Prints {@code list} as qemu-img snapshot -l does. */
  static void print(PrintWriter out, List<Entry> list) {
    if (list.isEmpty()) {
      return; // qemu-img prints nothing for an image without snapshots
    }
    out.println("Snapshot list:");
    out.printf("%-10s%-17s%8s%20s%13s%11s%n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
    for (Entry e : list) {
      long ms = e.vmClockNsec() / 1_000_000;
      String clock = String.format("%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
      out.printf("%-10s%-17s%8s%20s%13s%11s%n", e.id(), e.name(), Sizes.format(e.vmStateSize()),
          DATE.format(Instant.ofEpochSecond(e.dateSec())), clock, e.icount() == null ? "" : e.icount());
    }
  }
}
