package io.vstore.engine;

import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.VolumeInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The inventory side of moving a VM to another datastore ({@code vstore migrate VM}): its record
 * goes from the inventory of the datastore that held its disks to the inventory of the one that
 * holds them afterwards, while the mover ({@code io.vstore.engine.move.VmMove}) moves the disks one
 * by one.
 *
 * <p>While disks move, the VM has a record in both inventories, each with the pending operation
 * {@value #OPERATION} and the arguments {@code [from, to, state, rateLimit, flatten]} (absolute
 * datastore paths; state {@value #RUNNING} or {@value #STOPPED}). Every disk is wholly in one of the
 * two datastores at any time (a disk's own move switches it over in one commit); the pending record
 * refuses the VM's other operations (snapshot, revert, delete), and opening an inventory leaves it
 * alone. The move ends by saving the record in {@code to} without the pending operation, then
 * removing it from {@code from}: each step is idempotent, so a crash anywhere is finished by
 * running the same step again ({@link #complete}).
 */
public final class VmTransfer {
  /** The pending operation of a VM whose disks are moving between two datastores. */
  public static final String OPERATION = "migrate";
  /** State of a transfer that goes on (and is resumed when the daemon starts). */
  public static final String RUNNING = "running";
  /** State of a transfer that was cancelled between two disks: it waits for another migrate. */
  public static final String STOPPED = "stopped";

  private VmTransfer() {}

  /**
   * What a pending transfer records.
   *
   * @param vm the VM
   * @param from the datastore the disks leave (absolute path)
   * @param to the datastore the disks go to (absolute path)
   * @param state {@link #RUNNING} or {@link #STOPPED}
   * @param rateLimit the copy pass's limit in bytes a second, 0 for none
   * @param flatten whether disks that are linked clones move as flat copies
   */
  public record Plan(String vm, Path from, Path to, String state, long rateLimit, boolean flatten) {
    /** Returns whether the transfer goes on by itself (it was not cancelled). */
    public boolean running() {
      return RUNNING.equals(state);
    }

    Pending pending() {
      return new Pending(OPERATION, List.of(from.toString(), to.toString(), state, Long.toString(rateLimit),
          Boolean.toString(flatten)));
    }
  }

  /** Returns the transfer VM {@code vm} is part of, if any; throws for a malformed one. */
  public static Optional<Plan> of(VirtualMachine vm) throws InventoryException {
    Pending p = vm.pending();
    if (p == null || !OPERATION.equals(p.operation())) {
      return Optional.empty();
    }
    List<String> a = p.args();
    if (a.size() != 5 || !(RUNNING.equals(a.get(2)) || STOPPED.equals(a.get(2)))) {
      throw new InventoryException("bad inventory: VM " + vm.name() + " has a malformed pending migrate " + a);
    }
    try {
      return Optional.of(new Plan(vm.name(), Path.of(a.get(0)), Path.of(a.get(1)), a.get(2), Long.parseLong(a.get(3)),
          Boolean.parseBoolean(a.get(4))));
    } catch (RuntimeException e) {
      throw new InventoryException("bad inventory: VM " + vm.name() + " has a malformed pending migrate " + a);
    }
  }

  /**
   * Starts (or takes up again) moving VM {@code vm} from the datastore of {@code from} to that of
   * {@code to}: checks it can move, then records the transfer in {@code from}'s inventory and in
   * {@code to}'s, in that order. A VM already split between the two by a cancelled or crashed
   * transfer takes it up in the direction asked: towards {@code to}.
   *
   * @throws IllegalArgumentException if the VM cannot move, with the reason
   */
  public static Plan begin(Inventory from, Inventory to, String vm, long rateLimit, boolean flatten)
      throws IOException {
    if (rateLimit < 0) {
      throw new IllegalArgumentException("--rate-limit must not be negative: " + rateLimit);
    }
    Path fromPath = path(from);
    Path toPath = path(to);
    if (fromPath.equals(toPath)) {
      throw new IllegalArgumentException("VM " + vm + " is already in datastore " + toPath);
    }
    Object first = fromPath.compareTo(toPath) < 0 ? from : to;
    Object second = first == from ? to : from;
    synchronized (first) {
      synchronized (second) {
        VirtualMachine here = from.vms().get(vm);
        VirtualMachine there = to.document().vms().get(vm);
        Optional<Plan> pending = of(here);
        if (pending.isPresent()) {
          Plan p = pending.get();
          if (!(p.from().equals(fromPath) && p.to().equals(toPath) || p.from().equals(toPath) && p.to().equals(fromPath))) {
            throw new IllegalArgumentException("VM " + vm + " is split between " + p.from() + " and " + p.to()
                + ": migrate it to one of those first");
          }
          if (there != null && there.pending() == null) {
            // A crash came between the two last steps of a move that had ended in this direction.
            complete(from, to, new Plan(vm, fromPath, toPath, RUNNING, rateLimit, flatten));
            throw new IllegalArgumentException("VM " + vm + " has already moved to " + toPath);
          }
        } else {
          if (here.pending() != null) {
            throw new InventoryException("VM " + vm + " has an unfinished " + here.pending().operation()
                + " (it is finished when the datastore is next opened)");
          }
          if (there != null) {
            throw new IllegalArgumentException("datastore " + toPath + " already has a VM " + vm);
          }
          checkMovable(from, to, here, flatten);
        }
        Plan plan = new Plan(vm, fromPath, toPath, RUNNING, rateLimit, flatten);
        VirtualMachine marked = here.withPending(plan.pending());
        from.save(from.document().with(marked));
        to.save(to.document().with(marked));
        return plan;
      }
    }
  }

  /** Throws unless every disk of {@code vm} can leave {@code from} for {@code to}. */
  private static void checkMovable(Inventory from, Inventory to, VirtualMachine vm, boolean flatten)
      throws IOException {
    Datastore src = from.datastore();
    Datastore dst = to.datastore();
    if (!vm.media().isEmpty()) {
      // Media files live in volumes of their own that this move does not carry yet.
      throw new IllegalArgumentException("cannot move VM " + vm.name() + ": it has media files (" + vm.media().size()
          + "), which vstore migrate does not move yet: remove them first (vstore vm media)");
    }
    for (String d : vm.disks()) {
      if (dst.hasVolume(d)) {
        throw new IllegalArgumentException("datastore " + dst.path() + " already has a volume " + d
            + " (disk of VM " + vm.name() + ")");
      }
      VolumeInfo info = src.volumeInfo(d);
      if (info.parent() != null && !flatten) {
        throw new IllegalArgumentException("cannot move VM " + vm.name() + ": its disk " + d + " is a linked clone of "
            + info.parent() + ", which stays in " + src.path() + ": give --flatten to move flat copies of what its"
            + " disks read");
      }
    }
    // A snapshot of a disk with linked clones cannot leave: the clones would lose their parent.
    List<String> clones = new ArrayList<>();
    for (VolumeInfo other : src.volumes()) {
      if (other.parent() != null && vm.disks().contains(SnapshotRef.parse(other.parent()).volume())) {
        clones.add(other.name() + " (of " + other.parent() + ")");
      }
    }
    if (!clones.isEmpty()) {
      throw new IllegalArgumentException("cannot move VM " + vm.name() + ": its snapshots have linked clones "
          + String.join(", ", clones) + ", which would lose their parent (delete or flatten them first)");
    }
  }

  /**
   * Ends the transfer {@code plan} once every disk is in {@code to}: saves the record in {@code to}
   * without the pending operation, then removes it from {@code from}. Idempotent: after a crash it
   * finishes what is left.
   *
   * @throws IllegalStateException if a disk is still in {@code from}
   */
  public static VirtualMachine complete(Inventory from, Inventory to, Plan plan) throws IOException {
    String vm = plan.vm();
    for (String d : disks(from, to, vm)) {
      if (from.datastore().hasVolume(d) || !to.datastore().hasVolume(d)) {
        throw new IllegalStateException("VM " + vm + ": disk " + d + " is not in " + to.datastore().path() + " yet");
      }
    }
    VirtualMachine there = to.document().vms().get(vm);
    VirtualMachine here = from.document().vms().get(vm);
    VirtualMachine done = (there != null ? there : here).withPending(null);
    if (there == null || there.pending() != null) {
      to.save(to.document().with(done));
    }
    if (here != null) {
      from.save(from.document().withoutVm(vm));
    }
    return done;
  }

  /**
   * Leaves the transfer {@code plan} where it is (cancelled between two disks): when no disk has
   * moved yet it is undone, when all have it is completed, else both records are marked
   * {@link #STOPPED}, refusing the VM's operations until a migrate to either side ends it.
   *
   * @return whether the VM stays split between the two datastores
   */
  public static boolean stop(Inventory from, Inventory to, Plan plan) throws IOException {
    String vm = plan.vm();
    List<String> disks = disks(from, to, vm);
    boolean noneMoved = disks.stream().noneMatch(to.datastore()::hasVolume);
    boolean allMoved = disks.stream().noneMatch(from.datastore()::hasVolume);
    if (allMoved) {
      complete(from, to, plan);
      return false;
    }
    VirtualMachine here = from.document().vms().get(vm);
    if (noneMoved) {
      if (to.document().vms().containsKey(vm)) {
        to.save(to.document().withoutVm(vm));
      }
      from.save(from.document().with(here.withPending(null)));
      return false;
    }
    Plan stopped = new Plan(vm, plan.from(), plan.to(), STOPPED, plan.rateLimit(), plan.flatten());
    VirtualMachine marked = here.withPending(stopped.pending());
    from.save(from.document().with(marked));
    to.save(to.document().with(marked));
    return true;
  }

  /** Returns VM {@code vm}'s disks, from whichever inventory has its record. */
  public static List<String> disks(Inventory from, Inventory to, String vm) throws InventoryException {
    VirtualMachine r = from.document().vms().get(vm);
    if (r == null) {
      r = to.document().vms().get(vm);
    }
    if (r == null) {
      throw new InventoryException("no VM " + vm + " in " + from.datastore().path() + " or " + to.datastore().path());
    }
    return r.disks();
  }

  private static Path path(Inventory inv) {
    return inv.datastore().path().toAbsolutePath().normalize();
  }
}
