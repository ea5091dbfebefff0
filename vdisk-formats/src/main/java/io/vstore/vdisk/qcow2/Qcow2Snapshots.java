package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Internal snapshots of a qcow2 image, as {@code qemu-img snapshot} makes them: create, list, apply
 * and delete, on a file no one else has open.
 *
 * <p>A snapshot is a copy of the active L1 table and an entry in the snapshot table; everything
 * the L1 table reaches gets one more reference, and the COPIED flags of the active tables are
 * cleared, so a later write copies a shared cluster before changing it. The steps are ordered so
 * that a crash at any point leaves refcounts at least as high as the references (at worst leaked
 * clusters, which {@code qemu-img check -r leaks} reclaims) and never a published snapshot whose
 * clusters a writer could change in place:
 * <ul>
 *   <li>create: L1 copy written and every reference raised (synced), then the active COPIED flags
 *       cleared (synced), then the new snapshot table (synced), then the header that publishes it;
 *       the old table's clusters are freed last;
 *   <li>apply: the snapshot's tree raised (synced), its L1 copied to new clusters (synced), the
 *       header switched to them (one sector: the switch is atomic), then the old active tree
 *       counted down, then the COPIED flags set where a refcount reached 1;
 *   <li>delete: the table without the entry written and the header switched first, then the
 *       snapshot's tree and L1 copy counted down, then the COPIED flags set where a refcount
 *       reached 1.
 * </ul>
 * Between the last two steps of each, an interrupted run can leave COPIED flags clear on clusters
 * whose refcount is already 1 (or, during create, set on clusters counted twice): {@code qemu-img
 * check} reports those, {@code -r all} repairs them, and no data is lost either way.
 */
public final class Qcow2Snapshots {
  /** Longest id or name the table can hold (a 16-bit length). */
  static final int MAX_NAME_BYTES = 65535;

  private Qcow2Snapshots() {}

  /**
   * One internal snapshot, as {@code qemu-img snapshot -l} lists it.
   *
   * @param id the unique id (qemu numbers them 1, 2, ...)
   * @param name the name (tag)
   * @param vmStateSize bytes of saved VM state (0: a disk-only snapshot)
   * @param diskSize the virtual size when the snapshot was taken, -1 when not recorded (version 2)
   * @param dateSec creation time, seconds since the epoch
   * @param dateNsec nanoseconds of the creation time
   * @param vmClockNsec guest clock at creation
   * @param icount instruction count of record/replay, -1 when not recorded
   */
  public record Snapshot(String id, String name, long vmStateSize, long diskSize, long dateSec, int dateNsec,
      long vmClockNsec, long icount) {}

  /** Returns the internal snapshots of {@code path}, in table order. */
  public static List<Snapshot> list(Path path) throws IOException {
    try (Qcow2Metadata m = Qcow2Metadata.open(path, true, ChannelOpener.DEFAULT)) {
      List<Snapshot> out = new ArrayList<>();
      for (Qcow2SnapshotTable.Entry e : m.snapshots()) {
        out.add(new Snapshot(e.id(), e.name(), e.vmStateSizeLarge(), e.diskSize(), e.dateSec(), e.dateNsec(),
            e.vmClockNsec(), e.icount()));
      }
      return out;
    }
  }

  /** Creates snapshot {@code name} of {@code path}'s current content; returns its id. */
  public static String create(Path path, String name) throws IOException {
    return create(path, name, ChannelOpener.DEFAULT);
  }

  /** Reverts {@code path} to the snapshot whose id or name is {@code idOrName} (the snapshot stays). */
  public static void apply(Path path, String idOrName) throws IOException {
    apply(path, idOrName, ChannelOpener.DEFAULT);
  }

  /** Deletes the snapshot whose id or name is {@code idOrName}, freeing the clusters only it used. */
  public static void delete(Path path, String idOrName) throws IOException {
    delete(path, idOrName, ChannelOpener.DEFAULT);
  }

  static String create(Path path, String name, ChannelOpener channels) throws IOException {
    if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
      throw new IllegalArgumentException("snapshot name must have 1 to " + MAX_NAME_BYTES + " bytes");
    }
    try (Qcow2Metadata m = Qcow2Metadata.open(path, false, channels)) {
      List<Qcow2SnapshotTable.Entry> old = m.snapshots();
      long id = 0;
      for (Qcow2SnapshotTable.Entry e : old) {
        if (e.name().equals(name) || e.id().equals(name)) {
          throw new IllegalArgumentException("image snapshot: " + path + " already has a snapshot '" + name
              + "' (id " + e.id() + ")");
        }
        id = Math.max(id, numericId(e.id()));
      }
      if (old.size() >= Qcow2SnapshotTable.MAX_SNAPSHOTS) {
        throw new UnsupportedFormatException("unsupported qcow2: " + path + " already has "
            + Qcow2SnapshotTable.MAX_SNAPSHOTS + " snapshots (QEMU's limit)");
      }
      // Allocate and count everything first: nothing points at the new clusters until the header does.
      int l1Entries = m.l1.length;
      long copy = 0;
      if (l1Entries > 0) {
        copy = m.refcounts.allocate(m.clustersFor((long) l1Entries * 8));
        m.writeL1(copy, Qcow2Metadata.withoutCopied(m.l1, l1Entries), l1Entries);
      }
      m.countTree(m.l1, true, "active");
      Instant now = Instant.now();
      List<Qcow2SnapshotTable.Entry> next = new ArrayList<>(old);
      String newId = Long.toString(id + 1);
      next.add(new Qcow2SnapshotTable.Entry(copy, l1Entries, newId.getBytes(StandardCharsets.UTF_8),
          name.getBytes(StandardCharsets.UTF_8), now.getEpochSecond(), now.getNano(), 0, 0,
          Qcow2SnapshotTable.Entry.extraFor(m.header.size())));
      long tableBytes = Qcow2SnapshotTable.length(next);
      long table = m.refcounts.allocate(m.clustersFor(tableBytes));
      m.writeRefcounts();
      // The active tables now share everything: clear COPIED before the snapshot is visible, so no
      // writer changes a shared cluster in place once it is.
      m.fixCopied();
      Qcow2Io.writeFully(m.channel, table, Qcow2SnapshotTable.encode(next));
      m.sync();
      long oldTable = m.header.snapshotsOffset();
      long oldBytes = Qcow2SnapshotTable.length(old);
      m.header = m.header.withSnapshots(next.size(), table);
      m.writeHeader();
      m.sync();
      if (!old.isEmpty()) {
        m.releaseClusters(oldTable, m.clustersFor(oldBytes));
      }
      m.applyFrees();
      return newId;
    }
  }

  static void apply(Path path, String idOrName, ChannelOpener channels) throws IOException {
    try (Qcow2Metadata m = Qcow2Metadata.open(path, false, channels)) {
      Qcow2SnapshotTable.Entry sn = find(m.snapshots(), idOrName, path);
      long[] snL1 = m.readL1(sn.l1TableOffset(), sn.l1Size(), "snapshot " + sn.id());
      long size = sn.diskSize() >= 0 ? sn.diskSize() : m.header.size();
      long needed = m.l1EntriesFor(size);
      if (needed > sn.l1Size() && sn.diskSize() >= 0 && needed * 8 > Qcow2L2Cache.MAX_L1_BYTES) {
        throw new UnsupportedFormatException("unsupported qcow2: " + path + " snapshot " + sn.id()
            + " disk size " + size + " needs an L1 table larger than QEMU's limit");
      }
      int entries = (int) Math.max(sn.l1Size(), needed);
      m.countTree(snL1, true, "snapshot " + sn.id());
      // The old tree's decrements wait in memory until applyFrees, after the header switched; walking
      // it now refuses a damaged one before anything changes.
      m.countTree(m.l1, false, "active");
      int clusters = m.clustersFor((long) entries * 8);
      long l1 = entries == 0 ? 0 : m.refcounts.allocate(clusters);
      m.writeRefcounts();
      long[] active = Qcow2Metadata.withoutCopied(snL1, entries);
      if (entries > 0) {
        m.writeL1(l1, active, entries);
        m.sync();
      }
      long[] oldL1 = m.l1;
      long oldOffset = m.header.l1TableOffset();
      m.header = m.header.withL1(l1, entries).withSize(size);
      m.writeHeader();
      m.sync();
      m.l1 = active;
      if (oldL1.length > 0) {
        m.releaseClusters(oldOffset, m.clustersFor((long) oldL1.length * 8));
      }
      m.applyFrees();
      m.fixCopied();
      m.sync();
    }
  }

  static void delete(Path path, String idOrName, ChannelOpener channels) throws IOException {
    try (Qcow2Metadata m = Qcow2Metadata.open(path, false, channels)) {
      List<Qcow2SnapshotTable.Entry> old = m.snapshots();
      Qcow2SnapshotTable.Entry sn = find(old, idOrName, path);
      // Walk (and so check) the tree before anything changes: a damaged snapshot is refused whole.
      // The decrements only wait in memory until applyFrees, after the header no longer names it.
      long[] snL1 = m.readL1(sn.l1TableOffset(), sn.l1Size(), "snapshot " + sn.id());
      m.countTree(snL1, false, "snapshot " + sn.id());
      List<Qcow2SnapshotTable.Entry> next = new ArrayList<>(old);
      next.remove(sn);
      long table = 0;
      if (!next.isEmpty()) {
        table = m.refcounts.allocate(m.clustersFor(Qcow2SnapshotTable.length(next)));
        m.writeRefcounts();
        Qcow2Io.writeFully(m.channel, table, Qcow2SnapshotTable.encode(next));
        m.sync();
      }
      long oldTable = m.header.snapshotsOffset();
      m.header = m.header.withSnapshots(next.size(), table);
      m.writeHeader();
      m.sync();
      if (snL1.length > 0) {
        m.releaseClusters(sn.l1TableOffset(), m.clustersFor((long) snL1.length * 8));
      }
      m.releaseClusters(oldTable, m.clustersFor(Qcow2SnapshotTable.length(old)));
      m.applyFrees();
      m.fixCopied();
      m.sync();
    }
  }

  /** Finds the snapshot with id {@code key}, else with name {@code key} (qemu's order), or throws. */
  private static Qcow2SnapshotTable.Entry find(List<Qcow2SnapshotTable.Entry> all, String key, Path path) {
    for (Qcow2SnapshotTable.Entry e : all) {
      if (e.id().equals(key)) {
        return e;
      }
    }
    for (Qcow2SnapshotTable.Entry e : all) {
      if (e.name().equals(key)) {
        return e;
      }
    }
    throw new IllegalArgumentException("image snapshot: " + path + " has no snapshot '" + key + "'");
  }

  private static long numericId(String id) {
    try {
      return Math.max(0, Long.parseLong(id));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
