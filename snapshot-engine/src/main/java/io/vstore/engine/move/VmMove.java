package io.vstore.engine.move;

import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.Inventory;
import io.vstore.engine.VmTransfer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * One move of a VM's disks to another datastore of the same process ({@code vstore migrate VM}):
 * the disks move one after another, each by its own {@link VolumeMove} (so clients keep using
 * them), and the VM's inventory record follows them ({@link VmTransfer}).
 *
 * <p>Cancelling lets the disk being moved finish (or, before its switch-over, a failure aborts it:
 * it stays where it was), then stops: every disk is wholly in one datastore or the other, never
 * half in each, and a VM left with disks on both sides refuses its other operations until another
 * {@code migrate} to either side ends the split. A daemon that stops in the middle keeps the
 * transfer running: {@link #resume} takes it up again, the current disk's own move from its
 * persisted progress.
 */
public final class VmMove {
  /** Hears how the move goes; called on the move's thread. */
  public interface Listener {
    /** Reports {@code done} of {@code total} bytes over all disks; may throw {@link CancellationException} to stop after the current disk. */
    void progress(long done, long total);

    /** Called when disk {@code disk} ({@code index} of {@code count}, from 0) starts to move. */
    default void diskStarted(String disk, int index, int count) {}

    /** Called once every handle of {@code disk} serves the destination: repoint what names the source datastore. */
    default void switched(String disk, MoveRecord record) throws IOException {}

    /** Called when disk {@code disk} has moved. */
    default void diskMoved(String disk, VolumeMove.Result result) {}
  }

  /**
   * What a VM move did.
   *
   * @param vm the VM
   * @param disks what each disk this run moved did, in order
   * @param skipped disks that were in the destination already (moved by an earlier, stopped run)
   * @param split whether the move stopped (cancelled) with disks on both sides
   */
  public record Result(String vm, String from, String to, List<VolumeMove.Result> disks, List<String> skipped,
      boolean split) {}

  private final Inventory from;
  private final Inventory to;
  private final VmTransfer.Plan plan;
  private volatile boolean cancelRequested;

  private VmMove(Inventory from, Inventory to, VmTransfer.Plan plan) {
    this.from = from;
    this.to = to;
    this.plan = plan;
  }

  /**
   * Starts moving VM {@code vm} from {@code from}'s datastore to {@code to}'s, or takes up a move
   * of it between the two that was stopped, in the direction asked.
   *
   * @throws IllegalArgumentException if the VM cannot move, with the reason
   */
  public static VmMove start(Inventory from, Inventory to, String vm, long rateLimit, boolean flatten)
      throws IOException {
    return new VmMove(from, to, VmTransfer.begin(from, to, vm, rateLimit, flatten));
  }

  /** Takes up the recorded transfer {@code plan} after a restart ({@code from} and {@code to} are its datastores' inventories). */
  public static VmMove resume(Inventory from, Inventory to, VmTransfer.Plan plan) {
    return new VmMove(from, to, plan);
  }

  /** Returns the VM being moved. */
  public String vm() {
    return plan.vm();
  }

  /** Returns the transfer as recorded. */
  public VmTransfer.Plan plan() {
    return plan;
  }

  /** Returns the bytes of work left: twice the size (copy pass, then verification) of every disk still to move. */
  public long totalWork() throws IOException {
    long total = 0;
    for (String d : VmTransfer.disks(from, to, plan.vm())) {
      if (from.datastore().hasVolume(d)) {
        total += 2 * from.datastore().volumeInfo(d).size();
      }
    }
    return total;
  }

  /**
   * Moves the disks still in the source one after another, then moves the VM's record; returns when
   * every disk is in the destination, or when a cancel stopped it after a disk.
   *
   * @param stopping whether the process is stopping: a failure or cancel then keeps the move (the
   *     current disk's and the VM's) recorded to resume, rather than stopping it
   */
  public Result run(Listener listener, BooleanSupplier stopping) throws IOException {
    Datastore src = from.datastore();
    Datastore dst = to.datastore();
    List<String> disks = VmTransfer.disks(from, to, plan.vm());
    long total = Math.max(1, totalWork());
    long done = 0;
    List<VolumeMove.Result> results = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    try {
      for (int i = 0; i < disks.size(); i++) {
        String disk = disks.get(i);
        MoveRecord recorded = MoveRecord.load(MoveRecord.file(src.path(), disk));
        if (recorded == null && !src.hasVolume(disk)) {
          skipped.add(disk);
          continue;
        }
        report(listener, done, total, stopping);
        if (cancelRequested) {
          break;
        }
        if (MoveRecord.load(MoveRecord.file(dst.path(), disk)) != null) {
          throw new IllegalStateException("disk " + disk + " of VM " + plan.vm() + " is being moved the other way, to "
              + src.path() + ": wait for that move to end");
        }
        VolumeMove move = recorded != null ? VolumeMove.resume(src, dst, recorded)
            : VolumeMove.start(src, disk, dst, plan.rateLimit(), plan.flatten());
        long size = move.record().size();
        long base = done;
        listener.diskStarted(disk, i, disks.size());
        VolumeMove.Result r = move.run(new VolumeMove.Listener() {
          private boolean switched = move.record().isSwitched();

          @Override
          public void progress(long diskDone, long diskTotal) {
            report(listener, base + (switched ? size : 0) + diskDone, total, stopping);
          }

          @Override
          public void switched(MoveRecord record) throws IOException {
            switched = true;
            listener.switched(disk, record);
          }
        }, stopping);
        done = base + 2 * size;
        results.add(r);
        listener.diskMoved(disk, r);
      }
    } catch (IOException | RuntimeException e) {
      if (!stopping.getAsBoolean()) {
        try {
          VmTransfer.stop(from, to, plan); // the disk that failed went back; the others stay where they are
        } catch (IOException | RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    boolean split = false;
    if (disks.stream().anyMatch(src::hasVolume)) {
      split = VmTransfer.stop(from, to, plan);
    } else {
      VmTransfer.complete(from, to, plan);
    }
    if (!split) {
      report(listener, total, total, () -> false);
    }
    return new Result(plan.vm(), src.path().toString(), dst.path().toString(), results, skipped, split);
  }

  /**
   * Passes progress on; a cancel (the listener throwing) is noted and takes effect after the current
   * disk, unless the process is stopping: then it stops the disk's move, which stays recorded.
   */
  private void report(Listener listener, long done, long total, BooleanSupplier stopping) {
    try {
      listener.progress(Math.min(done, total), total);
    } catch (CancellationException e) {
      if (stopping.getAsBoolean()) {
        throw e;
      }
      cancelRequested = true;
    }
  }
}
