package io.vstore.cli;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.VolumeInfo;
import io.vstore.engine.MediaFile;
import io.vstore.engine.VirtualMachine;
import io.vstore.engine.VmSnapshot;
import io.vstore.engine.VmTransfer;
import java.io.IOException;
import java.io.PrintWriter;
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

/** {@code vstore vm ...}: the VM inventory and VM-consistent snapshot trees. */
@Command(name = "vm", description = "Create, list, inspect, snapshot and delete VMs (a name, disks and a JSON config).",
    mixinStandardHelpOptions = true,
    subcommands = {VmCommand.Create.class, VmCommand.ListCmd.class, VmCommand.Info.class, VmCommand.Delete.class,
        VmCommand.Snapshot.class, VmCommand.Revert.class, VmMediaCommand.class})
final class VmCommand {
  /** Largest configuration file read: a VM's configuration is a few kilobytes. */
  private static final long MAX_CONFIG_BYTES = 1 << 20;

  @Command(name = "create", description = "Create a VM with one new thin volume per --disk.")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "Name of the new VM.") String name;
    @Option(names = "--disk", paramLabel = "SIZE", required = true,
        description = "Add a disk of this virtual size (e.g. 20G); repeat for more disks.") List<Long> disks;
    @Option(names = "--config", paramLabel = "FILE", description = "The VM's configuration: a JSON object, kept as is.")
    Path config;

    @Override
    public Integer call() throws Exception {
      JsonNode cfg = config == null ? null : readConfig(config);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        VirtualMachine vm = s.inventory.vms().create(name, disks, cfg);
        spec.commandLine().getOut().println("created VM " + vm.name() + " with disks " + String.join(", ", vm.disks()));
      }
      return 0;
    }
  }

  /** Reads a VM configuration file: a JSON object of at most 1 MiB. */
  static JsonNode readConfig(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("bad config: " + file + " is not a file");
    }
    long size = Files.size(file);
    if (size > MAX_CONFIG_BYTES) {
      throw new IllegalArgumentException("bad config: " + file + " is " + size + " bytes, more than the limit "
          + MAX_CONFIG_BYTES);
    }
    try {
      JsonNode n = new ObjectMapper().readTree(Files.readAllBytes(file));
      if (n == null || !n.isObject()) {
        throw new IllegalArgumentException("bad config: " + file + " is not a JSON object");
      }
      return n;
    } catch (JacksonException e) {
      throw new IllegalArgumentException("bad config: " + file + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  @Command(name = "list", description = "List VMs.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        output.print(s.inventory.vms().list(), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code vms} as a table. */
    static void print(PrintWriter out, List<VirtualMachine> vms) {
      out.printf("%-32s %5s %10s %-20s%n", "NAME", "DISKS", "SNAPSHOTS", "CURRENT");
      for (VirtualMachine vm : vms) {
        out.printf("%-32s %5d %10d %-20s%n", vm.name(), vm.disks().size(), vm.snapshots().size(),
            vm.current() == null ? "-" : vm.current());
      }
    }
  }

  @Command(name = "info", description = "Show a VM's disks, configuration and snapshot tree.")
  static final class Info implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The VM.") String name;
    @Mixin OutputOptions output;

    /**
     * A VM with its disks' space figures and its media files; {@code migration} is null unless its
     * disks are moving (vstore migrate).
     */
    record Result(String name, String created, String current, JsonNode config, List<VolumeInfo> disks,
        List<MediaFile> media, List<VmSnapshot> snapshots,
        @JsonInclude(JsonInclude.Include.NON_NULL) Migration migration, @JsonIgnore VirtualMachine vm) {}

    /** A VM's move between two datastores: its state and the disks that are in the other datastore. */
    record Migration(String from, String to, String state, List<String> elsewhere) {}

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        VirtualMachine vm = s.inventory.vms().get(name);
        VmTransfer.Plan plan = VmTransfer.of(vm).orElse(null);
        List<VolumeInfo> disks = new ArrayList<>();
        List<String> elsewhere = new ArrayList<>();
        for (String d : vm.disks()) {
          if (plan != null && !s.store.hasVolume(d)) {
            elsewhere.add(d); // moved to (or not yet back from) the other datastore of the move
            continue;
          }
          disks.add(s.store.volumeInfo(d));
        }
        Migration migration = plan == null ? null
            : new Migration(plan.from().toString(), plan.to().toString(), plan.state(), elsewhere);
        output.print(new Result(vm.name(), vm.created(), vm.current(), vm.config(), disks,
            vm.media().stream().filter(MediaFile::complete).toList(), vm.snapshots(), migration, vm), Info::print);
      }
      return 0;
    }

    /** Prints {@code r} as text, its snapshots as an indented tree. */
    static void print(PrintWriter out, Result r) {
      out.println("VM: " + r.name());
      out.println("created: " + r.created());
      out.println("current snapshot: " + (r.current() == null ? "-" : r.current()));
      for (VolumeInfo d : r.disks()) {
        out.println("disk " + d.name() + ": " + Sizes.format(d.size()) + ", allocated " + Sizes.format(d.allocated()));
      }
      for (MediaFile m : r.media()) {
        out.println(VmMediaCommand.describe(m) + " in volume " + m.volume());
      }
      if (r.migration() != null) {
        Migration m = r.migration();
        out.println("migrate: " + m.state() + " from " + m.from() + " to " + m.to()
            + (m.elsewhere().isEmpty() ? "" : "; in the other datastore: " + String.join(", ", m.elsewhere())));
      }
      out.println("config: " + r.config());
      out.println("snapshots:");
      printTree(out, r.vm(), null, "  ");
    }
  }

  /** Prints the subtree of {@code parent} indented, marking the current snapshot. */
  static void printTree(PrintWriter out, VirtualMachine vm, String parent, String indent) {
    for (VmSnapshot s : vm.children(parent)) {
      out.println(indent + s.name() + (s.name().equals(vm.current()) ? " (current)" : "") + "  " + s.created()
          + (s.description().isEmpty() ? "" : "  " + s.description()));
      printTree(out, vm, s.name(), indent + "  ");
    }
  }

  @Command(name = "delete", description = "Delete a VM, its disks and their snapshots.")
  static final class Delete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "NAME", description = "The VM.") String name;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.vms().delete(name);
        spec.commandLine().getOut().println("deleted VM " + name);
      }
      return 0;
    }
  }

  @Command(name = "snapshot", description = "VM snapshots: all disks captured at one instant, forming a tree.",
      mixinStandardHelpOptions = true,
      subcommands = {SnapCreate.class, SnapList.class, SnapRevert.class, SnapDelete.class})
  static final class Snapshot {}

  @Command(name = "create", description = "Snapshot every disk of a VM at one instant; it becomes current.")
  static final class SnapCreate implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM@SNAP", description = "The VM and the snapshot's name.")
    String target;
    @Option(names = {"-m", "--description"}, paramLabel = "TEXT", defaultValue = "",
        description = "A description of the snapshot.") String description;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = EngineSession.vmSnapshot(target);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        VmSnapshot snap = s.inventory.vms().snapshot(ref.volume(), ref.snapshot(), description);
        spec.commandLine().getOut().println("created snapshot " + target
            + (snap.parent() == null ? "" : " (child of " + snap.parent() + ")"));
      }
      return 0;
    }
  }

  @Command(name = "list", description = "Show a VM's snapshot tree.")
  static final class SnapList implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM", description = "The VM.") String name;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        VirtualMachine vm = s.inventory.vms().get(name);
        output.print(vm.snapshots(), (out, snapshots) -> printTree(out, vm, null, ""));
      }
      return 0;
    }
  }

  @Command(name = "revert", description = "Revert every disk of a VM to a snapshot, which becomes current.")
  static final class SnapRevert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM@SNAP", description = "The VM and the snapshot's name.")
    String target;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = EngineSession.vmSnapshot(target);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.vms().revert(ref.volume(), ref.snapshot());
        spec.commandLine().getOut().println("reverted VM " + ref.volume() + " to " + ref.snapshot());
      }
      return 0;
    }
  }

  @Command(name = "revert", description = "Revert every disk of a VM to a snapshot (same as 'vm snapshot revert').")
  static final class Revert implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM@SNAP", description = "The VM and the snapshot's name.")
    String target;

    @Override
    public Integer call() throws Exception {
      SnapRevert r = new SnapRevert();
      r.spec = spec;
      r.location = location;
      r.target = target;
      return r.call();
    }
  }

  @Command(name = "delete", description = "Delete a VM snapshot; its children move under its parent.")
  static final class SnapDelete implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DatastoreLocation location;
    @Mixin DatastoreKeyOptions keys;
    @Parameters(index = "0", paramLabel = "VM@SNAP", description = "The VM and the snapshot's name.")
    String target;

    @Override
    public Integer call() throws Exception {
      SnapshotRef ref = EngineSession.vmSnapshot(target);
      try (EngineSession s = EngineSession.open(location, spec.commandLine().getErr())) {
        s.inventory.vms().deleteSnapshot(ref.volume(), ref.snapshot());
        spec.commandLine().getOut().println("deleted snapshot " + target);
      }
      return 0;
    }
  }
}
