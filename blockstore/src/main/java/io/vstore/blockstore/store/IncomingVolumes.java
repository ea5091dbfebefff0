package io.vstore.blockstore.store;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The incoming volumes of one datastore: creating, finding, listing and deleting them. An
 * incoming volume is an ordinary catalog entry ({@code v/<id>}) whose {@link VolumeRecord#incoming}
 * mark is set; its maps, records and snapshots are ordinary too, so the cleaner and the checker
 * treat it like any other volume while no name reaches it.
 */
final class IncomingVolumes {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");

  private IncomingVolumes() {}

  /**
   * Returns the incoming volume of uuid {@code uuid} in {@code parts}' datastore, or null. The
   * caller holds the commit lock exclusively, or takes what it finds.
   */
  static VolumeState find(StoreParts parts, String uuid) {
    for (VolumeState v : parts.volumes().incoming()) {
      if (!v.isDeleted() && v.uuid.toString().equals(uuid)) {
        return v;
      }
    }
    return null;
  }

  /**
   * Creates, durably, an empty incoming volume shaped like {@code source} (same uuid, size and
   * creation time) marked with {@code mark}. The caller holds the commit lock exclusively.
   */
  static VolumeState create(StoreParts parts, VolumeState source, VolumeRecord.Incoming mark) throws IOException {
    CommitPipeline commits = parts.commits();
    VolumeRecord r = new VolumeRecord(commits.newId(), source.name, source.uuid.toString(), source.size,
        source.created, 0, 0, 0, 0, 0, 0, mark);
    commits.stage(batch -> batch.put(parts.meta().catalog, Keys.catalog('v', r.id()), r.encode()));
    commits.flushLocked();
    VolumeState v = new VolumeState(parts, r);
    parts.volumes().addIncoming(v);
    return v;
  }

  /** Deletes incoming volume {@code v} and all its space, durably; nothing when it is already gone. */
  static void delete(StoreParts parts, VolumeState v) throws IOException {
    CommitPipeline commits = parts.commits();
    commits.lock().writeLock().lock();
    try {
      commits.checkOpen();
      if (v.isDeleted() || v.incoming() == null) {
        return;
      }
      commits.flushLocked(); // delete() releases what the committed maps reference
      try {
        v.delete();
      } finally {
        parts.volumes().removeIncoming(v);
      }
      commits.flushLocked();
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** Deletes, at open, every incoming volume no mover claims: nothing can resume them. */
  static void dropUnclaimed(StoreParts parts) throws IOException {
    for (VolumeState v : parts.volumes().incoming()) {
      VolumeRecord.Incoming mark = v.incoming();
      if (mark.claim() == null) {
        LOG.log(System.Logger.Level.INFO, "{0}: deleting unfinished incoming copy of volume {1} (uuid {2}) from "
            + "datastore {3}, begun {4}: no mover claims it", parts.dir(), mark.sourceName(), v.uuid,
            mark.sourceDatastore(), mark.started());
        delete(parts, v);
      }
    }
  }

  /** Returns the incoming volumes of {@code parts}' datastore. */
  static List<IncomingVolume> list(StoreParts parts) {
    List<IncomingVolume> out = new ArrayList<>();
    for (VolumeState v : parts.volumes().incoming()) {
      VolumeRecord.Incoming mark = v.incoming();
      if (mark == null || v.isDeleted()) {
        continue; // published or deleted meanwhile
      }
      int snapshots;
      v.lock.readLock().lock();
      try {
        snapshots = v.snapshots().size();
      } finally {
        v.lock.readLock().unlock();
      }
      out.add(new IncomingVolume(v.uuid.toString(), mark.sourceName(), mark.sourceDatastore(), mark.claim(),
          mark.started(), snapshots, mark.copyingHead(), v.allocatedBytes()));
    }
    out.sort(java.util.Comparator.comparing(IncomingVolume::started).thenComparing(IncomingVolume::uuid));
    return out;
  }

  /** Returns a new mark for a transplant from datastore {@code sourceDatastore} begun now. */
  static VolumeRecord.Incoming mark(String sourceDatastore, String sourceName, String claim, long birth) {
    return new VolumeRecord.Incoming(sourceDatastore, sourceName, claim, birth, false, Instant.now().toString());
  }
}
