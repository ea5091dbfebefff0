package io.vstore.blockstore.store;

import io.vstore.blockstore.IoObserver;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.VolumeInterceptor;
import io.vstore.blockstore.crypto.KeyRing;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/**
 * An embedded datastore: a directory with a descriptor, RocksDB metadata and segment files, owned
 * by one process at a time. Holds thin {@link Volume}s.
 *
 * <p>This class opens and closes the parts and answers the public calls; the work is theirs:
 * {@link VolumeState} (one volume's maps and writes), {@link VolumeView} (lookups),
 * {@link CommitPipeline} (flushes), {@link SegmentUsage} (segments' live bytes, appends),
 * {@link SegmentCleaner}, {@link Snapshots}, {@link ChangeTracking} and {@link DatastoreChecker}.
 */
public final class Datastore implements Closeable {
  /** The largest volume: 64 TiB. */
  public static final long MAX_VOLUME_SIZE = 64L << 40;
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");

  private final Path dir;
  private final DatastoreOptions options;
  private final DatastoreLock fileLock;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final Capacity capacity;
  private final CommitPipeline commits;
  private final VolumeCatalog volumes;
  private final StoreParts parts;
  private final SegmentCleaner cleaner;
  private final Snapshots snapshots;
  private final VolumeAdmin admin;
  private final VolumeDeletion deletion;
  /** Loads the metadata pages in the background after opening; stopped first on close. */
  private final MetadataWarmer warmer;
  /** The data key and key slots of an encrypted datastore; null when it is not encrypted. */
  private final KeyRing keys;
  /** While true, {@link #close} leaves the datastore open: a long-lived owner holds it (see {@link #holdOpen}). */
  private volatile boolean held;
  /** Dead bytes (segment bytes not live) when opened: what a handle without a cleaner freed is the growth. */
  private final long deadAtOpen;
  /** Reads, writes and zeroings by volumes' users; the cleaner yields to busy volumes. */
  private final LongAdder foregroundOps = new LongAdder();
  /** Hears of every completed volume operation, or null: then the I/O path does not even read the clock. */
  private volatile IoObserver ioObserver;
  private volatile DeletionGuard deletionGuard = DeletionGuard.NONE;

  private Datastore(Path dir, DatastoreOptions options, DatastoreLock fileLock, DatastoreDescriptor descriptor,
      KeyRing created) throws IOException {
    this.dir = dir;
    this.options = options;
    this.fileLock = fileLock;
    this.volumes = new VolumeCatalog(dir);
    boolean success = false;
    MetaStore m = null;
    SegmentFiles s = null;
    try {
      this.keys = created != null ? created : DatastoreDirectory.unlock(dir, descriptor, options.keys());
      m = new MetaStore(dir.resolve("meta"), options.metadataCacheBytes());
      s = new SegmentFiles(dir.resolve("segments"), descriptor.uuid(), options.segmentBytes(),
          CommitPipeline.nextSegment(m), options.channels(), SegmentScan.recordsIn(m),
          keys == null ? null : keys.sealer());
      this.meta = m;
      this.segments = s;
      this.capacity = new Capacity(dir, descriptor, s, options.segmentBytes());
      SegmentUsage usage = new SegmentUsage(s, capacity, this::reclaimForSpace);
      this.commits = new CommitPipeline(this, m, s, usage, options.flushThreshold());
      this.parts = new StoreParts(dir, m, commits.records(), s, capacity, usage, commits, volumes);
      usage.load(m);
      volumes.load(parts);
      this.cleaner = new SegmentCleaner(this, parts, options.cleanBelowLiveRatio(), foregroundOps);
      this.snapshots = new Snapshots(this, parts);
      this.admin = new VolumeAdmin(this, parts);
      this.deletion = new VolumeDeletion(this, parts, snapshots);
      IncomingVolumes.dropUnclaimed(parts); // a transplant that no mover can resume: see VolumeTransplant
      capacity.evaluate();
      this.deadAtOpen = cleaner.deadBytes();
      success = true;
    } finally {
      if (!success) {
        if (s != null) {
          s.close();
        }
        if (m != null) {
          m.close();
        }
        fileLock.close();
      }
    }
    cleaner.startBackground(options.cleanerInterval());
    commits.start();
    warmer = new MetadataWarmer(parts, (long) (meta.cache().budget() * MetadataWarmer.FILL));
    if (options.warmMetadata()) {
      warmer.start();
    }
  }

  /** Creates a datastore in {@code dir}, which must not exist or be empty. */
  public static Datastore create(Path dir, DatastoreOptions options, long capacityBytes) throws IOException {
    return create(dir, options, capacityBytes, false);
  }

  /**
   * Creates a datastore in {@code dir}, which must not exist or be empty; when {@code encrypted},
   * every record is sealed under a new random data key, wrapped in a first key slot for
   * {@code options.keys()} (named "passphrase" or "key-file").
   */
  public static Datastore create(Path dir, DatastoreOptions options, long capacityBytes, boolean encrypted)
      throws IOException {
    DatastoreDirectory d = DatastoreDirectory.create(dir, options, capacityBytes, encrypted);
    return new Datastore(dir, options, d.lock(), d.descriptor(), d.created());
  }

  /** Opens the existing datastore in {@code dir}. */
  public static Datastore open(Path dir, DatastoreOptions options) throws IOException {
    DatastoreDirectory d = DatastoreDirectory.open(dir);
    return new Datastore(dir, options, d.lock(), d.descriptor(), null);
  }

  /** Opens the datastore in {@code dir}, creating it (with no capacity limit) when absent. */
  public static Datastore openOrCreate(Path dir, DatastoreOptions options) throws IOException {
    if (Files.exists(dir.resolve(DatastoreDescriptor.FILE))) {
      return open(dir, options);
    }
    return create(dir, options, 0);
  }

  /**
   * Returns the key ring of an encrypted datastore (its key slots: list, add, remove, change), or
   * empty when the datastore is not encrypted.
   */
  public java.util.Optional<KeyRing> keys() {
    return java.util.Optional.ofNullable(keys);
  }

  /** Cleans every segment with dead space: a user append does not fit. */
  private void reclaimForSpace() throws IOException {
    cleaner.reclaimForSpace();
  }

  /** Counts one read, write or zeroing by a volume's user; the cleaner yields to busy volumes. */
  void noteForegroundOp() {
    foregroundOps.increment();
  }

  /** Returns the observer of volume I/O, or null. */
  IoObserver ioObserver() {
    return ioObserver;
  }

  /** Returns whether the datastore is open. */
  boolean isOpen() {
    return commits.isOpen();
  }

  // ---- public API ----

  /** Returns the datastore directory. */
  public Path path() {
    return dir;
  }

  /** Sets what is asked before each volume or snapshot deletion (the daemon refuses to delete what it exports). */
  public void setDeletionGuard(DeletionGuard guard) {
    deletionGuard = Objects.requireNonNull(guard);
  }

  /**
   * Reports every completed read, write, zeroing, discard and flush of this datastore's volumes,
   * through any handle, to {@code observer} from now on (null: stop reporting).
   */
  public void setIoObserver(IoObserver observer) {
    ioObserver = observer;
  }

  /**
   * Sends every write, zeroing, discard and flush of volume {@code volume}'s head, through any
   * handle, through {@code interceptor} from now on; returns the interceptor it replaces, or null
   * (a caller that must keep it wraps it). Returns once no operation that missed it still runs, so
   * the caller must not hold anything such an operation waits for.
   */
  public VolumeInterceptor setInterceptor(String volume, VolumeInterceptor interceptor) throws IOException {
    checkOpen();
    return volumes.get(volume).interception.swap(Objects.requireNonNull(interceptor));
  }

  /** Stops intercepting volume {@code volume}'s head as {@link #setInterceptor} would; returns the one removed, or null. */
  public VolumeInterceptor clearInterceptor(String volume) throws IOException {
    checkOpen();
    return volumes.get(volume).interception.swap(null);
  }

  /**
   * Makes every handle on volume {@code volume}'s head, open now or opened later, serve
   * {@code target} instead (reads, writes, flushes, allocation; also once the volume is deleted):
   * the mover's switch-over, which keeps an NBD client's handle while its disk moves to another
   * datastore. The caller holds off writes meanwhile and keeps {@code target} open.
   */
  public void forwardHandles(String volume, Volume target) throws IOException {
    checkOpen();
    VolumeState v = volumes.get(volume);
    if (target.state() == v) {
      throw new IllegalArgumentException("volume " + volume + " cannot forward to itself");
    }
    v.forward = Objects.requireNonNull(target);
  }

  /** Returns what the cleaner has done since the datastore was opened. */
  public CleanerStats cleanerStats() {
    return cleaner.totals();
  }

  /** Makes every completed write to every volume durable. */
  public void flush() throws IOException {
    commits.flush();
  }

  /**
   * Starts no background flush until {@link #resumeBackgroundFlushes} and returns once the one
   * running has ended, for a caller about to hold writes briefly that must not wait behind a sync
   * it did not ask for (the mover's switch-over). Calls nest.
   */
  public void pauseBackgroundFlushes() {
    commits.pauseFlusher();
  }

  /** Ends one {@link #pauseBackgroundFlushes}; a flush requested meanwhile starts then. */
  public void resumeBackgroundFlushes() {
    commits.resumeFlusher();
  }

  /** Creates a thin volume of {@code size} bytes (a multiple of 512, at most 64 TiB). */
  public Volume createVolume(String name, long size) throws IOException {
    return admin.create(name, size);
  }

  /** Opens a handle on volume {@code name}. */
  public Volume volume(String name) throws IOException {
    return volume(name, false);
  }

  /** Opens a handle on volume {@code name} or snapshot {@code volume@snapshot}, read-only if asked. */
  public Volume volume(String name, boolean readOnly) throws IOException {
    checkOpen();
    SnapshotRef ref = SnapshotRef.parse(name);
    VolumeState v = volumes.get(ref.volume());
    if (!ref.isSnapshot()) {
      return new Volume(this, v, null, readOnly);
    }
    return new Volume(this, v, snapshots.find(v, ref.snapshot()), true);
  }

  /** Returns whether volume {@code name} exists. */
  public boolean hasVolume(String name) {
    return volumes.contains(name);
  }

  /** Returns every volume's figures, sorted by name. */
  public List<VolumeInfo> volumes() {
    checkOpen();
    // Shared with writers, exclusive with deletions: a clone deleted (and then its parent snapshot)
    // while the list is made would leave figures to compute against a snapshot that is gone.
    commits.lock().readLock().lock();
    try {
      return volumes.all().stream().map(VolumeInfo::of).toList(); // the catalog is sorted by name
    } finally {
      commits.lock().readLock().unlock();
    }
  }

  /**
   * Returns volume {@code name}'s figures. Flushes first, so that its change id names exactly the
   * state the caller has seen.
   */
  public VolumeInfo volumeInfo(String name) throws IOException {
    checkOpen();
    VolumeState v = volumes.get(name);
    flush();
    return VolumeInfo.of(v);
  }

  /** Returns the change id of volume {@code name}'s head after a flush: what {@link #volumeInfo} names, without its space walk. */
  public String changeId(String name) throws IOException {
    checkOpen();
    VolumeState v = volumes.get(name);
    flush();
    return ChangeTracking.changeId(v, null);
  }

  /** Deletes volume {@code name} and its space; refused while it has snapshots (see {@link #deleteVolume(String, boolean)}). */
  public void deleteVolume(String name) throws IOException {
    deleteVolume(name, false);
  }

  /**
   * Deletes volume {@code name} and all its space, its snapshots too when {@code recursive};
   * without it, refused while the volume has snapshots, naming them (as {@code zfs destroy} and
   * {@code rbd rm} do: a snapshot is kept on purpose, and deleting it must be asked for). Always
   * refused while a snapshot has linked clones. Open handles on it become unusable.
   */
  public void deleteVolume(String name, boolean recursive) throws IOException {
    deletion.delete(List.of(name), recursive, deletionGuard);
  }

  /**
   * Deletes volumes {@code names} as {@link #deleteVolume(String, boolean)} would, in one commit:
   * each is checked first (a snapshot's linked clones may be in the list too), so a refusal, or a
   * crash before the call returns, leaves all of them or none. Durable on return.
   */
  public void deleteVolumes(List<String> names, boolean recursive) throws IOException {
    deletion.delete(names, recursive, deletionGuard);
  }

  /**
   * Sets volume {@code name}'s virtual size to {@code newSize}: growing adds zeros at the end;
   * shrinking, only with {@code allowShrink}, first discards what lies past the new end. Refused
   * while the volume has snapshots, which share its size (naming them). Durable on return.
   */
  public void resizeVolume(String name, long newSize, boolean allowShrink) throws IOException {
    admin.resize(name, newSize, allowShrink);
  }

  /**
   * Renames volume {@code from} to {@code to}, its snapshots and clones following it (they refer to
   * it by id); open handles keep working under the new name. Durable on return.
   */
  public void renameVolume(String from, String to) throws IOException {
    admin.rename(from, to);
  }

  /** Snapshots volume {@code volume} as {@code snapshot}: O(1), whatever its size. */
  public SnapshotInfo createSnapshot(String volume, String snapshot) throws IOException {
    checkOpen();
    return snapshots.create(Map.of(volume, snapshot)).getFirst();
  }

  /** Snapshots several volumes at one instant (a consistency group): volume name to snapshot name. */
  public List<SnapshotInfo> createSnapshots(Map<String, String> group) throws IOException {
    checkOpen();
    return snapshots.create(group);
  }

  /** Returns every volume's snapshots, by volume name and each volume's oldest first, as of one instant. */
  public List<SnapshotInfo> snapshots() {
    checkOpen();
    return snapshots.listAll();
  }

  /** Returns volume {@code volume}'s snapshots, oldest first, with their figures. */
  public List<SnapshotInfo> snapshots(String volume) throws IOException {
    checkOpen();
    return snapshots.list(volume);
  }

  /**
   * Asks the deletion guard whether volume {@code volume} (with {@code snapshot} null) or its
   * snapshot may be deleted, without deleting: a workflow that deletes several volumes checks them
   * all before it starts.
   *
   * @throws IllegalStateException naming what still uses it
   */
  public void checkDeletable(String volume, String snapshot) throws IOException {
    checkOpen();
    deletionGuard.check(volume, snapshot);
  }

  /** Deletes a snapshot, reclaiming what only it referenced; refused while it has linked clones. */
  public void deleteSnapshot(String volume, String snapshot) throws IOException {
    checkOpen();
    deletionGuard.check(volume, snapshot);
    snapshots.delete(volume, snapshot);
  }

  /** Makes volume {@code volume} hold what {@code snapshot} holds; the snapshot stays. */
  public void revert(String volume, String snapshot) throws IOException {
    checkOpen();
    snapshots.revert(volume, snapshot);
  }

  /** Creates writable linked clones of {@code volume@snapshot}, one per name, each O(1). */
  public List<Volume> cloneSnapshot(String volume, String snapshot, List<String> names) throws IOException {
    checkOpen();
    return snapshots.clone(volume, snapshot, names);
  }

  /** Copies up what a linked clone shares with its parent so that it no longer depends on it. */
  public void flatten(String volume) throws IOException {
    checkOpen();
    snapshots.flatten(volume);
  }

  /**
   * Returns the byte ranges of {@code [offset, offset + length)} of {@code spec} (a volume or
   * {@code volume@snapshot}) that changed since change id {@code since} ({@code *}: all data).
   */
  public ChangedAreas changedAreas(String spec, String since, long offset, long length) throws IOException {
    checkOpen();
    SnapshotRef ref = SnapshotRef.parse(spec);
    VolumeState v = volumes.get(ref.volume());
    SnapshotState snap = ref.isSnapshot() ? snapshots.find(v, ref.snapshot()) : null;
    OutOfRangeException.check(new Volume(this, v, snap, true), offset, length);
    return ChangeTracking.changedAreas(parts, v, snap, since, offset, length);
  }

  /** Pins {@code changeId} (as {@code label}, unique; null: unnamed) so it stays answerable; refused once pruned. */
  public ChangePin pinChangeId(String changeId, String label) throws IOException {
    checkOpen();
    return ChangePins.pin(parts, changeId, label);
  }

  /** Removes every pin of a change id, or the pin named {@code changeIdOrLabel}, and returns them. */
  public List<ChangePin> unpinChangeId(String changeIdOrLabel) throws IOException {
    checkOpen();
    return ChangePins.unpin(parts, changeIdOrLabel);
  }

  /** Returns the pinned change ids of {@code volume}, or of every volume when null. */
  public List<ChangePin> changePins(String volume) throws IOException {
    checkOpen();
    return ChangePins.list(parts, volume == null ? null : volumes.get(volume));
  }

  /** Sets the capacity limit (0: the file system's free space) and the alarm thresholds in percent. */
  public void setCapacity(long bytes, int warningPercent, int criticalPercent) throws IOException {
    checkOpen();
    capacity.configure(bytes, warningPercent, criticalPercent);
  }

  /** Returns the configured capacity limit in bytes; 0 when the limit is the file system's free space. */
  public long configuredCapacity() {
    checkOpen();
    return capacity.descriptor().capacity();
  }

  /** Returns the datastore's figures and alarms. */
  public DatastoreInfo info() {
    checkOpen();
    capacity.evaluate();
    long provisioned = 0;
    long allocated = 0;
    for (VolumeState v : volumes.list()) { // incoming volumes too: their records take space
      provisioned += v.incoming() == null ? v.size : 0;
      allocated += v.allocatedBytes();
    }
    long limit = capacity.limit();
    DatastoreDescriptor d = capacity.descriptor();
    return new DatastoreInfo(dir.toString(), d.uuid().toString(), limit, provisioned, allocated, segments.totalBytes(),
        limit == 0 ? 0 : (double) provisioned / limit, volumes.size(), segments.sizes().size(), d.warningPercent(),
        d.criticalPercent(), capacity.alarms(), meta.cache().figures());
  }

  /** Verifies every invariant of the committed state (after a flush); changes nothing. */
  public CheckReport check() throws IOException {
    commits.lock().writeLock().lock();
    try {
      checkOpen();
      commits.flushLocked();
      return new DatastoreChecker(parts).run();
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /**
   * Reclaims dead space now: writes back in order the ranges reads found fragmented, then rewrites
   * live data out of mostly-dead segments and deletes them.
   */
  public CleanerReport clean() throws IOException {
    checkOpen();
    cleaner.defragmentNoted();
    return cleaner.clean(options.cleanBelowLiveRatio(), false);
  }

  void checkOpen() {
    commits.checkOpen();
  }

  /** Returns the parts of this datastore, for the operations between two datastores ({@link VolumeTransplant}). */
  StoreParts parts() {
    return parts;
  }

  /** Returns the segment files, for tests that damage or inspect them. */
  SegmentFiles segments() {
    return segments;
  }

  /**
   * Makes {@link #close} a no-op until the returned hold is closed, which closes the datastore.
   * A long-lived owner (the daemon) holds its datastores open this way so that the commands it
   * runs on them can keep their usual try-with-resources without closing the owner's store.
   */
  public Closeable holdOpen() {
    checkOpen();
    held = true;
    return () -> {
      held = false;
      close();
    };
  }

  @Override
  public void close() throws IOException {
    if (held || !commits.isOpen()) {
      return;
    }
    try {
      if (options.cleanerInterval().isZero()) { // a one-shot command's handle: no background cleaner
        CleanerReport r = cleaner.reclaimFreed(deadAtOpen);
        if (r != null) {
          LOG.log(System.Logger.Level.DEBUG, "{0}: reclaimed {1} bytes on close", dir, r.bytesReclaimed());
        }
      }
    } catch (IOException | RuntimeException e) {
      // The space stays dead until the next command that frees some or a daemon's cleaner: no data is at risk.
      LOG.log(System.Logger.Level.WARNING, "{0}: reclaiming freed space failed: {1}", dir, e.getMessage());
    }
    warmer.close();
    cleaner.stopBackground();
    IOException failure = null;
    commits.stopFlusher();
    commits.lock().writeLock().lock();
    try {
      try {
        commits.flushLocked();
      } catch (IOException e) {
        failure = e;
      }
      commits.markClosed();
      try {
        segments.close();
      } catch (IOException e) {
        failure = chain(failure, e);
      }
      meta.close();
      try {
        fileLock.close();
      } catch (IOException e) {
        failure = chain(failure, e);
      }
    } finally {
      commits.lock().writeLock().unlock();
    }
    if (failure != null) {
      throw failure;
    }
    LOG.log(System.Logger.Level.DEBUG, "closed {0}", this);
  }

  /**
   * Drops this datastore as a crash would: no flush, pending map changes are lost, files and the
   * lock are released. RocksDB only ever holds synced commits, so closing it adds nothing a crash
   * would not have kept. For crash tests.
   */
  void abandon() throws IOException {
    warmer.close();
    cleaner.stopBackground();
    commits.stopFlusher();
    commits.lock().writeLock().lock();
    try {
      commits.markClosed();
      try {
        segments.abandon();
      } finally {
        meta.abandon();
        fileLock.close();
      }
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** Returns the background loader of metadata pages, for tests. */
  MetadataWarmer warmer() {
    return warmer;
  }

  private static IOException chain(IOException first, IOException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  @Override
  public String toString() {
    return "datastore " + dir;
  }
}
