package io.vstore.backup.engine;

import io.vstore.backup.maint.RepositoryLock;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointMeta;
import io.vstore.backup.repo.PointReader;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.ChangeIdException;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * One backup of a volume, or of a VM's disks, into a repository: a consistency-group snapshot of all
 * of them, a point per volume (a synthetic full: chunks that did not change are the previous
 * point's), change ids pinned so that the next backup can ask what changed, and the snapshot deleted
 * whatever happens.
 *
 * <p>The first point of a volume reads its allocated extents; later ones read only the areas changed
 * since the change id the previous point of that volume recorded. When that change id can no longer
 * be answered (the volume was reverted, its history merged), everything allocated is read, the
 * repository stores only the chunks it lacks, and the result says so.
 *
 * <p>Resumable: when a backup fails, the chunks it stored are made durable before the error is
 * thrown, so a rerun sends none of them again (a process that dies relies on the repository having
 * written its full packs and their index as it went).
 */
public final class BackupRun {
  private static final SecureRandom RANDOM = new SecureRandom();
  /** Phase timings at DEBUG ({@code vstore --debug}): where a backup's fixed costs go. */
  private static final System.Logger LOG = System.getLogger(BackupRun.class.getName());

  private final Datastore datastore;
  private final Repository repository;
  private final BackupListener listener;
  private List<String> tags = List.of();
  private int workers = ChunkStorer.defaultWorkers();
  private UnaryOperator<BlockDevice> sourceFilter = UnaryOperator.identity();
  private RepositoryLock lock;

  /** Prepares a backup from {@code datastore} into {@code repository}, reporting to {@code listener}. */
  public BackupRun(Datastore datastore, Repository repository, BackupListener listener) {
    this.datastore = Objects.requireNonNull(datastore);
    this.repository = Objects.requireNonNull(repository);
    this.listener = listener == null ? BackupListener.NONE : listener;
  }

  /**
   * Sets the repository lock this backup holds (taken before the repository was opened): the run
   * names its base point in it, so that prune keeps that point, and checks it is still held before
   * committing, so that gc cannot have removed a chunk the point uses.
   */
  public BackupRun lock(RepositoryLock lock) {
    this.lock = lock;
    return this;
  }

  /** Sets the tags every point gets. */
  public BackupRun tags(List<String> tags) {
    this.tags = List.copyOf(tags);
    return this;
  }

  /** Sets the number of threads that hash, compress and store chunks (default: every core). */
  public BackupRun workers(int workers) {
    if (workers < 1) {
      throw new IllegalArgumentException("bad worker count " + workers + ": at least 1");
    }
    this.workers = workers;
    return this;
  }

  /** Wraps the snapshot devices read (tests inject failures with it). */
  BackupRun sourceFilter(UnaryOperator<BlockDevice> filter) {
    this.sourceFilter = filter;
    return this;
  }

  /** Backs up volume {@code volume} as a point of kind {@code volume}. */
  public BackupResult volume(String volume) throws IOException {
    return run("volume", null, List.of(volume)).getFirst();
  }

  /** Backs up the disks {@code volumes} of VM {@code vm} from one consistency-group snapshot, a point per disk. */
  public List<BackupResult> vm(String vm, List<String> volumes) throws IOException {
    if (volumes.isEmpty()) {
      throw new IllegalArgumentException("VM " + vm + " has no disks to back up");
    }
    return run("vm", vm, volumes);
  }

  private List<BackupResult> run(String kind, String group, List<String> volumes) throws IOException {
    String snapName = "backup-" + HexFormat.of().formatHex(randomBytes());
    Map<String, String> wanted = new LinkedHashMap<>();
    for (String v : volumes) {
      if (wanted.put(v, snapName) != null) {
        throw new IllegalArgumentException("volume " + v + " given twice");
      }
    }
    long t0 = System.nanoTime();
    List<SnapshotInfo> snaps = datastore.createSnapshots(wanted);
    phase("snapshot of " + volumes, t0);
    List<BackupResult> results = new ArrayList<>();
    Throwable failure = null;
    try {
      for (SnapshotInfo s : snaps) {
        results.add(backupOne(kind, group, s));
      }
      return results;
    } catch (Throwable t) {
      failure = t;
      throw t;
    } finally {
      for (SnapshotInfo s : snaps) {
        try {
          long t1 = System.nanoTime();
          datastore.deleteSnapshot(s.volume(), s.name());
          phase("snapshot deleted", t1);
        } catch (IOException | RuntimeException e) {
          if (failure != null) {
            failure.addSuppressed(e);
          } else {
            listener.log("warning: could not delete snapshot " + s.volume() + "@" + s.name() + ": " + e.getMessage());
          }
        }
      }
    }
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[6];
    RANDOM.nextBytes(b);
    return b;
  }

  private BackupResult backupOne(String kind, String group, SnapshotInfo snap) throws IOException {
    String volume = snap.volume();
    String spec = volume + "@" + snap.name();
    int chunkSize = repository.config().chunkSize();
    long t0 = System.nanoTime();
    PointInfo previous = previousPoint(volume);
    phase(volume + ": previous point found", t0);
    try (Volume snapshotVolume = datastore.volume(spec, true)) {
      BlockDevice source = sourceFilter.apply(snapshotVolume);
      long size = source.size();
      String mode = "full";
      String note = null;
      PointReader base = null;
      if (previous != null) {
        if (previous.sizeBytes() != size) {
          mode = "full-resized";
          note = "volume " + volume + " is " + size + " bytes, its previous point " + previous.id() + " "
              + previous.sizeBytes() + ": reading everything allocated, storing only what the repository lacks";
        } else if (previous.changeId() == null) {
          mode = "full-change-id-lost";
          note = "previous point " + previous.id() + " recorded no change id: reading everything allocated, "
              + "storing only what the repository lacks";
        } else {
          try {
            datastore.changedAreas(spec, previous.changeId(), 0, Math.min(size, chunkSize));
            mode = "incremental";
          } catch (ChangeIdException e) {
            mode = "full-change-id-lost";
            note = "change id " + previous.changeId() + " of previous point " + previous.id()
                + " cannot be answered (" + e.getMessage() + "): reading everything allocated, storing only what "
                + "the repository lacks";
          }
        }
      }
      if (note != null) {
        listener.log(volume + ": " + note);
      }
      boolean incremental = mode.equals("incremental");
      String since = incremental ? previous.changeId() : null;
      ChunkStorer.Extents extents = incremental
          ? (off, len) -> datastore.changedAreas(spec, since, off, len).extents()
          : (off, len) -> ChunkRanges.data(source.allocation(off, len));
      t0 = System.nanoTime();
      listener.started(volume, toRead(extents, size, chunkSize));
      phase(volume + ": " + mode + ", bytes to read counted", t0);
      if (incremental) {
        if (lock != null) {
          lock.nameBase(previous.id());
        }
        base = repository.openPoint(previous.id());
      }
      try (PointReader b = base; ChunkSink sink = repository.openSink()) {
        PointWriter writer = repository.newPoint(size, b);
        ChunkStorer storer = new ChunkStorer(repository, sink, writer, chunkSize, workers);
        try {
          t0 = System.nanoTime();
          storer.store(source, extents, listener::progress);
          phase(volume + ": read, hashed and stored " + storer.bytesRead() + " bytes", t0);
        } catch (IOException | RuntimeException | Error e) {
          try {
            sink.flush(); // what was stored stays stored: a rerun does not send it again
          } catch (IOException | RuntimeException f) {
            e.addSuppressed(f);
          }
          throw e;
        }
        if (lock != null) {
          lock.ensureHeld();
        }
        t0 = System.nanoTime();
        PointInfo point = writer.commit(
            new PointMeta(volume, kind, group, snap.changeId(), Instant.now(), tags, storer.bytesRead()), sink);
        phase(volume + ": point committed", t0);
        t0 = System.nanoTime();
        keepAnswerable(volume, snap.changeId(), point, previous);
        phase(volume + ": change id pinned", t0);
        return new BackupResult(volume, point, mode, note, storer.bytesRead(), storer.chunks(), storer.zeroChunks(),
            storer.newChunks());
      }
    }
  }

  /** Logs at DEBUG how long the phase that began at {@code startNanos} took. */
  static void phase(String what, long startNanos) {
    if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
      LOG.log(System.Logger.Level.DEBUG, String.format("backup phase: %s in %.1f ms", what,
          (System.nanoTime() - startNanos) / 1e6));
    }
  }

  /** Returns the newest point of {@code volume}, or null. */
  private PointInfo previousPoint(String volume) throws IOException {
    PointInfo last = null;
    for (PointInfo p : repository.points()) {
      if (volume.equals(p.source())) {
        last = p;
      }
    }
    return last;
  }

  /** Returns how many bytes the extents ask to read, widened to chunks; metadata only. */
  private static long toRead(ChunkStorer.Extents extents, long size, int chunkSize) throws IOException {
    long window = Math.max(chunkSize, ChunkStorer.WINDOW_BYTES / chunkSize * chunkSize);
    long total = 0;
    for (long w = 0; w < size; w += window) {
      total += ChunkRanges.total(ChunkRanges.cover(extents.of(w, Math.min(window, size - w)), chunkSize, size));
    }
    return total;
  }

  /** Pins the new point's change id so the next backup can ask since it, and unpins the previous point's. */
  private void keepAnswerable(String volume, String changeId, PointInfo point, PointInfo previous) {
    try {
      datastore.pinChangeId(changeId, pinLabel(volume, point.id()));
    } catch (IOException | RuntimeException e) {
      listener.log("warning: could not pin change id " + changeId + " of " + volume + " (the next backup will "
          + "read everything allocated): " + e.getMessage());
      return;
    }
    if (previous != null) {
      try {
        datastore.unpinChangeId(pinLabel(volume, previous.id()));
      } catch (IOException | RuntimeException e) {
        // A previous point made from another datastore, or pinned by an older run that failed to pin.
        listener.log("note: no pin of the previous point " + previous.id() + " to remove: " + e.getMessage());
      }
    }
  }

  /** Returns the pin label of point {@code pointId} of {@code volume}: names the repository and the source. */
  String pinLabel(String volume, String pointId) {
    String repo = repository.config().id();
    String v = volume.length() > 64 ? volume.substring(0, 64) : volume;
    return "backup:" + repo.substring(0, Math.min(16, repo.length())) + ":" + v + ":"
        + pointId.substring(0, Math.min(16, pointId.length()));
  }
}
