package io.vstore.blockstore.store;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Pattern;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;

/**
 * An embedded datastore: a directory with a descriptor, RocksDB metadata and segment files, owned
 * by one process at a time. Holds thin {@link Volume}s.
 */
public final class Datastore implements Closeable {
  /** The largest volume: 64 TiB. */
  public static final long MAX_VOLUME_SIZE = 64L << 40;
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final long COUNTER_NEXT_SEGMENT = 0;
  private static final long COUNTER_NEXT_VOLUME = 1;

  private final Path dir;
  private final DatastoreOptions options;
  private final DatastoreLock fileLock;
  private final MetaStore meta;
  private final SegmentFiles segments;
  private final Capacity capacity;
  private final SegmentCleaner cleaner;
  private final java.util.concurrent.atomic.LongAdder foregroundOps = new java.util.concurrent.atomic.LongAdder();
  private final Snapshots snapshots = new Snapshots(this);
  /** Taken shared by every map change and exclusively by flush, volume deletion and check. */
  private final ReentrantReadWriteLock commitLock = new ReentrantReadWriteLock();
  private final Map<String, VolumeState> volumes = new ConcurrentHashMap<>();
  private final Map<Long, AtomicLong> segmentLive = new ConcurrentHashMap<>();
  /**
   * Records appended and not yet published (entered in a map with their state), by segment: a
   * write appends before it takes the volume's lock to remap, and flatten appends a whole volume
   * before installing it. The cleaner must not delete a segment such a record is in.
   */
  private final Map<Long, java.util.concurrent.atomic.AtomicInteger> unpublished = new ConcurrentHashMap<>();
  private final AtomicLong pendingChanges = new AtomicLong();
  private final CommitOrder commitOrder = new CommitOrder();
  private final BackgroundFlusher flusher = new BackgroundFlusher(this);
  private RecordTable recordTable;
  private long nextVolumeId; // guarded by commitLock (write)
  /** The next-segment counter in the newest staged batch; guarded by commitLock (write). */
  private long stagedNextSegment;
  private volatile boolean open = true;

  private Datastore(Path dir, DatastoreOptions options, DatastoreLock fileLock, DatastoreDescriptor descriptor)
      throws IOException {
    this.dir = dir;
    this.options = options;
    this.fileLock = fileLock;
    boolean success = false;
    MetaStore m = null;
    SegmentFiles s = null;
    try {
      m = new MetaStore(dir.resolve("meta"));
      long nextSegment = Math.max(1, counter(m, COUNTER_NEXT_SEGMENT));
      nextVolumeId = Math.max(1, counter(m, COUNTER_NEXT_VOLUME));
      stagedNextSegment = counter(m, COUNTER_NEXT_SEGMENT);
      s = new SegmentFiles(dir.resolve("segments"), descriptor.uuid(), options.segmentBytes(), nextSegment,
          options.channels(), SegmentScan.recordsIn(m));
      this.meta = m;
      this.segments = s;
      this.recordTable = new RecordTable(m);
      loadCatalog();
      this.capacity = new Capacity(dir, descriptor, s, options.segmentBytes());
      this.cleaner = new SegmentCleaner(this);
      capacity.evaluate();
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
    flusher.start();
  }

  /** Creates a datastore in {@code dir}, which must not exist or be empty. */
  public static Datastore create(Path dir, DatastoreOptions options, long capacityBytes) throws IOException {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new DatastoreException("cannot create datastore: " + dir + " is a file");
    }
    if (Files.isDirectory(dir)) {
      try (var entries = Files.list(dir)) {
        if (entries.findAny().isPresent()) {
          throw new DatastoreException("cannot create datastore: " + dir + " is not empty"
              + (Files.exists(dir.resolve(DatastoreDescriptor.FILE)) ? " (it already is a datastore)" : ""));
        }
      }
    }
    if (capacityBytes < 0) {
      throw new IllegalArgumentException("capacity " + capacityBytes + " is negative");
    }
    Files.createDirectories(dir);
    DatastoreLock lock = DatastoreLock.acquire(dir);
    DatastoreDescriptor d = new DatastoreDescriptor(DatastoreDescriptor.FORMAT, DatastoreDescriptor.VERSION,
        UUID.randomUUID(), Instant.now().toString(), capacityBytes, 75, 90);
    try {
      d.write(dir);
    } catch (IOException e) {
      lock.close();
      throw e;
    }
    return new Datastore(dir, options, lock, d);
  }

  /** Opens the existing datastore in {@code dir}. */
  public static Datastore open(Path dir, DatastoreOptions options) throws IOException {
    if (!Files.exists(dir)) {
      throw new DatastoreException("no datastore at " + dir + " (create one with 'vstore datastore init')");
    }
    if (!Files.isDirectory(dir)) {
      throw new DatastoreException("not a datastore: " + dir + " is a file");
    }
    if (!Files.exists(dir.resolve(DatastoreDescriptor.FILE))) {
      throw new DatastoreException("not a datastore: " + dir + " has no " + DatastoreDescriptor.FILE);
    }
    DatastoreLock lock = DatastoreLock.acquire(dir);
    DatastoreDescriptor d;
    try {
      d = DatastoreDescriptor.read(dir);
    } catch (IOException e) {
      lock.close();
      throw e;
    }
    return new Datastore(dir, options, lock, d);
  }

  /** Opens the datastore in {@code dir}, creating it (with no capacity limit) when absent. */
  public static Datastore openOrCreate(Path dir, DatastoreOptions options) throws IOException {
    if (Files.exists(dir.resolve(DatastoreDescriptor.FILE))) {
      return open(dir, options);
    }
    return create(dir, options, 0);
  }

  private static long counter(MetaStore m, long which) throws IOException {
    byte[] v = m.get(m.catalog, Keys.catalog('c', which));
    return v == null ? 0 : ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private static byte[] longValue(long v) {
    return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
  }

  private void loadCatalog() throws IOException {
    Map<Long, VolumeRecord> records = new java.util.HashMap<>();
    Map<Long, SnapshotState> snapshotsById = new java.util.HashMap<>();
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      for (it.seek(Keys.catalogPrefix('v')); it.isValid() && it.key()[0] == 'v'; it.next()) {
        VolumeRecord r = VolumeRecord.decode(it.value());
        records.put(r.id(), r);
        volumes.put(r.name(), new VolumeState(this, r));
      }
      for (it.seek(Keys.catalogPrefix('n')); it.isValid() && it.key()[0] == 'n'; it.next()) {
        SnapshotRecord r = SnapshotRecord.decode(it.value());
        VolumeState v = stateById(r.volume());
        if (v == null) {
          throw new DatastoreException("bad datastore: " + dir + " has snapshot " + r.name() + " of missing volume id "
              + r.volume());
        }
        SnapshotState snap = new SnapshotState(r, meta);
        v.addSnapshot(snap);
        snapshotsById.put(r.id(), snap);
      }
      for (VolumeState v : volumes.values()) {
        VolumeRecord r = records.get(v.id);
        if (r.parentVolume() != 0) {
          v.parent = stateById(r.parentVolume());
          v.parentSnapshot = snapshotsById.get(r.parentSnapshot());
          if (v.parent == null || v.parentSnapshot == null) {
            throw new DatastoreException("bad datastore: " + dir + " clone " + v.name + " has a missing parent (volume id "
                + r.parentVolume() + ", snapshot id " + r.parentSnapshot() + ")");
          }
        }
      }
      for (it.seek(Keys.catalogPrefix('s')); it.isValid() && it.key()[0] == 's'; it.next()) {
        long live = ByteBuffer.wrap(it.value()).order(ByteOrder.LITTLE_ENDIAN).getLong();
        segmentLive.put(Keys.catalogId(it.key()), new AtomicLong(live));
      }
    }
  }

  // ---- internals shared with volumes, the cleaner and the checker ----

  MetaStore meta() {
    return meta;
  }

  SegmentFiles segments() {
    return segments;
  }

  RecordTable recordTable() {
    return recordTable;
  }

  ReentrantReadWriteLock commitLock() {
    return commitLock;
  }

  DatastoreOptions options() {
    return options;
  }

  /** Counts one read, write or zeroing by a volume's user; the cleaner yields to busy volumes. */
  void noteForegroundOp() {
    foregroundOps.increment();
  }

  /** Returns how many foreground operations volumes have done since the datastore opened. */
  long foregroundOps() {
    return foregroundOps.sum();
  }

  /** Returns whether a capacity alarm (warning or critical) is raised. */
  boolean capacityAlarmed() {
    return capacity.alarmed();
  }

  Map<Long, AtomicLong> segmentLiveBytes() {
    return segmentLive;
  }

  boolean isOpen() {
    return open;
  }

  /**
   * Marks the records of {@code entries} (from {@link #append}) published: entered in a map, or
   * abandoned after a failure. Called after the map change, so that the cleaner, which reads the
   * unpublished count before the live bytes, sees one or the other.
   */
  void published(List<MapEntry> entries) {
    for (MapEntry e : entries) {
      if (e.record() != null) {
        unpublished.get(e.record().segment()).decrementAndGet();
      }
    }
  }

  /**
   * Returns whether segment {@code id} may be deleted: no record in it is on its way into a map,
   * and no live record is left in it.
   */
  boolean segmentUnused(long id) {
    java.util.concurrent.atomic.AtomicInteger pending = unpublished.get(id);
    if (pending != null && pending.get() > 0) {
      return false;
    }
    AtomicLong live = segmentLive.get(id);
    return live == null || live.get() == 0;
  }

  /** Adds {@code delta} to the live bytes of segment {@code segment}. */
  void segmentLive(long segment, long delta) {
    segmentLive.computeIfAbsent(segment, s -> new AtomicLong()).addAndGet(delta);
    pendingChanges.incrementAndGet();
  }

  /** Counts a map change towards the next automatic flush. */
  void noteChange() {
    pendingChanges.incrementAndGet();
  }

  /** A catalog change to commit with the next flush's batch. */
  @FunctionalInterface
  interface CatalogOp {
    void stage(WriteBatch batch) throws RocksDBException;
  }

  private final List<CatalogOp> pendingOps = new ArrayList<>(); // guarded by commitLock (write)

  /** Queues {@code op} for the next flush; the caller holds the commit lock exclusively. */
  void stage(CatalogOp op) {
    assert commitLock.isWriteLockedByCurrentThread();
    pendingOps.add(op);
  }

  /** Returns a fresh id for a volume or a map; the caller holds the commit lock exclusively. */
  long newId() {
    assert commitLock.isWriteLockedByCurrentThread();
    long id = nextVolumeId++;
    long next = nextVolumeId;
    pendingOps.add(batch -> batch.put(meta.catalog, Keys.catalog('c', COUNTER_NEXT_VOLUME), longValue(next)));
    return id;
  }

  /** Registers a new volume state; the caller holds the commit lock exclusively. */
  void register(VolumeState v) {
    volumes.put(v.name, v);
  }

  /** Returns the state of volume {@code name}, or throws naming it. */
  VolumeState state(String name) throws DatastoreException {
    VolumeState v = volumes.get(name);
    if (v == null) {
      throw new DatastoreException("no volume " + name + " in datastore " + dir);
    }
    return v;
  }

  /** Appends a user write's record to the segments, reclaiming dead space when full. */
  RecordKey append(ByteBuffer record) throws IOException {
    commitOrder.checkHealthy();
    int bytes = record.remaining();
    if (!capacity.fits(bytes, false)) {
      cleaner.reclaimForSpace();
      if (!capacity.fits(bytes, false)) {
        throw capacity.full(bytes);
      }
    }
    RecordKey key = segments.append(record);
    unpublished.computeIfAbsent(key.segment(), id -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
    capacity.evaluateIfMoved();
    return key;
  }

  /** Appends a record the cleaner moves, which may use the reserve kept back from users. */
  RecordKey appendForCleaner(ByteBuffer record) throws IOException {
    if (!capacity.fits(record.remaining(), true)) {
      throw capacity.full(record.remaining());
    }
    return segments.append(record);
  }

  /** Forgets the statistics of deleted segment {@code id}. */
  void forgetSegment(long id) throws IOException {
    commitLock.writeLock().lock();
    try {
      segmentLive.remove(id);
      unpublished.remove(id);
      stage(batch -> batch.delete(meta.catalog, Keys.catalog('s', id)));
      flushLocked();
    } finally {
      commitLock.writeLock().unlock();
    }
    capacity.evaluate();
  }

  VolumeState stateById(long id) {
    for (VolumeState v : volumes.values()) {
      if (v.id == id) {
        return v;
      }
    }
    return null;
  }

  List<VolumeState> states() {
    return List.copyOf(volumes.values());
  }

  /**
   * Flushes when enough changes are pending, so that memory and the work a crash loses stay
   * bounded: in the background at the threshold, by the writer itself at twice the threshold.
   */
  void flushIfLarge() throws IOException {
    long pending = pendingChanges.get();
    if (pending >= 2L * options.flushThreshold()) {
      flush();
    } else if (pending >= options.flushThreshold()) {
      flusher.request();
    }
    commitOrder.checkHealthy();
  }

  // ---- public API ----

  /** Returns the datastore directory. */
  public Path path() {
    return dir;
  }

  /** Makes every completed write to every volume durable. */
  public void flush() throws IOException {
    StagedCommit staged;
    commitLock.writeLock().lock();
    try {
      checkOpen();
      staged = stageCommit();
    } finally {
      commitLock.writeLock().unlock();
    }
    // Writers go on while the segments sync and the batch commits.
    completeCommit(staged);
  }

  /** Waits until every flush staged so far is committed; with the commit lock held, none can start. */
  void awaitCommitted() throws IOException {
    commitOrder.awaitCommitted(commitOrder.newest());
  }

  /** Flushes with the commit lock held exclusively, returning once the commit is durable. */
  void flushLocked() throws IOException {
    assert commitLock.isWriteLockedByCurrentThread();
    completeCommit(stageCommit());
  }

  /**
   * A flush's metadata changes, staged in memory: {@code batch} (null when nothing changed) commits
   * as ticket {@code ticket}; with no batch, the flush waits for {@code ticket}, the newest one.
   */
  private record StagedCommit(long ticket, WriteBatch batch) {}

  /**
   * Moves every pending change into a batch and takes its ticket; the caller holds the commit
   * lock exclusively, so the batch holds all or none of each write.
   */
  private StagedCommit stageCommit() throws IOException {
    commitOrder.checkHealthy();
    List<VolumeState> changed = new ArrayList<>();
    for (VolumeState v : volumes.values()) {
      if (v.hasPendingChanges()) {
        changed.add(v);
      }
    }
    long nextSegment = segments.nextId();
    if (changed.isEmpty() && pendingChanges.get() == 0 && pendingOps.isEmpty() && stagedNextSegment == nextSegment) {
      return new StagedCommit(commitOrder.newest(), null);
    }
    WriteBatch batch = new WriteBatch();
    try {
      for (VolumeState v : changed) {
        long generation = v.committedGeneration + 1;
        for (BlockMap m : v.maps()) {
          m.writeTo(batch);
        }
        v.refs.writeTo(batch);
        if (!v.changes.isEmpty()) {
          batch.put(meta.changes, Keys.pair(v.id, generation), v.changes.encode());
        }
        batch.put(meta.catalog, Keys.catalog('v', v.id), v.record(generation).encode());
      }
      for (CatalogOp op : pendingOps) {
        op.stage(batch);
      }
      for (Map.Entry<Long, AtomicLong> e : segmentLive.entrySet()) {
        batch.put(meta.catalog, Keys.catalog('s', e.getKey()), longValue(e.getValue().get()));
      }
      batch.put(meta.catalog, Keys.catalog('c', COUNTER_NEXT_SEGMENT), longValue(nextSegment));
    } catch (RocksDBException | IOException | RuntimeException e) {
      batch.close();
      IOException failure = e instanceof IOException io ? io
          : new IOException("cannot stage commit of " + this + ": " + e.getMessage(), e);
      commitOrder.failed(failure);
      throw failure;
    }
    for (VolumeState v : changed) {
      v.lock.writeLock().lock();
      try {
        for (BlockMap m : v.maps()) {
          m.clearPending();
        }
        v.refs.clearPending();
        v.changes.clear();
        v.recordChanged = false;
        v.committedGeneration++;
      } finally {
        v.lock.writeLock().unlock();
      }
    }
    pendingOps.clear();
    pendingChanges.set(0);
    stagedNextSegment = nextSegment;
    return new StagedCommit(commitOrder.issue(), batch);
  }

  /**
   * Makes a staged commit durable: the segment bytes its entries point at first, then the batch,
   * after every earlier batch. Returns once it and every earlier commit are durable.
   */
  private void completeCommit(StagedCommit staged) throws IOException {
    if (staged.batch() == null) {
      commitOrder.awaitCommitted(staged.ticket());
      return;
    }
    try (WriteBatch batch = staged.batch()) {
      segments.sync();
      commitOrder.awaitTurn(staged.ticket());
      meta.commit(batch);
      commitOrder.committed(staged.ticket());
    } catch (IOException | RuntimeException e) {
      IOException failure = e instanceof IOException io ? io : new IOException("commit of " + this + " failed: " + e, e);
      commitOrder.failed(failure);
      throw failure;
    }
  }

  /** Creates a thin volume of {@code size} bytes (a multiple of 512, at most 64 TiB). */
  public Volume createVolume(String name, long size) throws IOException {
    checkName(name);
    if (size <= 0 || size % 512 != 0) {
      throw new IllegalArgumentException("volume size " + size + " must be a positive multiple of 512 bytes");
    }
    if (size > MAX_VOLUME_SIZE) {
      throw new IllegalArgumentException("volume size " + size + " is larger than the maximum " + MAX_VOLUME_SIZE
          + " (64 TiB)");
    }
    commitLock.writeLock().lock();
    try {
      checkOpen();
      if (volumes.containsKey(name)) {
        throw new DatastoreException("volume " + name + " already exists in " + dir);
      }
      VolumeRecord r = new VolumeRecord(newId(), name, UUID.randomUUID().toString(), size, Instant.now().toString(), 0, 0,
          0, 0, 0, 0);
      stage(batch -> batch.put(meta.catalog, Keys.catalog('v', r.id()), r.encode()));
      flushLocked();
      VolumeState state = new VolumeState(this, r);
      volumes.put(name, state);
      return new Volume(state, null, false);
    } finally {
      commitLock.writeLock().unlock();
    }
  }

  /** Opens a handle on volume {@code name}. */
  public Volume volume(String name) throws IOException {
    return volume(name, false);
  }

  /** Opens a handle on volume {@code name} or snapshot {@code volume@snapshot}, read-only if asked. */
  public Volume volume(String name, boolean readOnly) throws IOException {
    checkOpen();
    int at = name.indexOf('@');
    if (at < 0) {
      return new Volume(state(name), null, readOnly);
    }
    VolumeState v = state(name.substring(0, at));
    return new Volume(v, snapshots.find(v, name.substring(at + 1)), true);
  }


  /** Returns whether volume {@code name} exists. */
  public boolean hasVolume(String name) {
    return volumes.containsKey(name);
  }

  /** Returns every volume's figures, sorted by name. */
  public List<VolumeInfo> volumes() {
    checkOpen();
    return volumes.values().stream().map(this::info).sorted(Comparator.comparing(VolumeInfo::name)).toList();
  }

  /**
   * Returns volume {@code name}'s figures. Flushes first, so that its change id names exactly the
   * state the caller has seen.
   */
  public VolumeInfo volumeInfo(String name) throws IOException {
    checkOpen();
    VolumeState v = state(name);
    flush();
    return info(v);
  }

  VolumeInfo info(VolumeState v) {
    long[] space = v.space(null);
    String parent;
    int snapshotCount;
    v.lock.readLock().lock();
    try {
      parent = v.parent == null ? null : v.parent.name + "@" + v.parentSnapshot.name();
      snapshotCount = v.snapshots.size();
    } finally {
      v.lock.readLock().unlock();
    }
    return new VolumeInfo(v.name, v.uuid.toString(), v.size, v.allocated.get(), v.mappedBlocks.get() * VolumeState.BLOCK,
        space[1], space[2], ChangeTracking.changeId(v, null), v.committedGeneration, parent, snapshotCount, v.created);
  }

  /**
   * Deletes volume {@code name}, its snapshots and all their space; refused while a snapshot has
   * linked clones. Open handles on it become unusable.
   */
  public void deleteVolume(String name) throws IOException {
    commitLock.writeLock().lock();
    try {
      checkOpen();
      VolumeState v = state(name);
      for (SnapshotState snap : v.snapshots) {
        List<String> clones = snapshots.clonesOf(snap);
        if (!clones.isEmpty()) {
          throw new DatastoreException("cannot delete volume " + name + ": snapshot " + name + "@" + snap.name()
              + " has linked clones " + String.join(", ", clones) + " (flatten or delete them first)");
        }
      }
      flushLocked();
      java.util.Set<RecordKey> records = new java.util.HashSet<>();
      List<BlockMap> maps = v.maps();
      for (BlockMap m : maps) {
        for (MapEntry e : m.overlapping(0, v.blocks)) {
          if (e.record() != null) {
            records.add(e.record());
          }
        }
      }
      for (RecordKey k : records) {
        RecordState state = v.refs.get(k);
        if (state != null) {
          segmentLive(k.segment(), -state.storedBytes());
          v.refs.put(k, state.withLive(-state.liveBlocks()));
          stage(batch -> batch.delete(meta.records, k.key()));
        }
      }
      v.refs.clearPending(); // staged above; the volume is gone from the next flush's view
      for (BlockMap m : maps) {
        stage(batch -> batch.deleteRange(meta.maps, Keys.pair(m.id(), 0), Keys.pair(m.id() + 1, 0)));
      }
      for (SnapshotState snap : v.snapshots) {
        stage(batch -> batch.delete(meta.catalog, Keys.catalog('n', snap.record.id())));
        snap.deleted = true;
      }
      stage(batch -> batch.deleteRange(meta.changes, Keys.pair(v.id, 0), Keys.pair(v.id + 1, 0)));
      stage(batch -> batch.delete(meta.catalog, Keys.catalog('v', v.id)));
      volumes.remove(name);
      v.deleted = true;
      flushLocked();
    } finally {
      commitLock.writeLock().unlock();
    }
    capacity.evaluate();
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

  /** Returns volume {@code volume}'s snapshots, oldest first, with their figures. */
  public List<SnapshotInfo> snapshots(String volume) throws IOException {
    checkOpen();
    return snapshots.list(volume);
  }

  /** Deletes a snapshot, reclaiming what only it referenced; refused while it has linked clones. */
  public void deleteSnapshot(String volume, String snapshot) throws IOException {
    checkOpen();
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
    int at = spec.indexOf('@');
    VolumeState v = state(at < 0 ? spec : spec.substring(0, at));
    SnapshotState snap = at < 0 ? null : snapshots.find(v, spec.substring(at + 1));
    io.vstore.blockstore.OutOfRangeException.check(new Volume(v, snap, true), offset, length);
    return ChangeTracking.changedAreas(this, v, snap, since, offset, length);
  }

  /** Sets the capacity limit (0: the file system's free space) and the alarm thresholds in percent. */
  public void setCapacity(long bytes, int warningPercent, int criticalPercent) throws IOException {
    if (bytes < 0 || warningPercent <= 0 || criticalPercent <= warningPercent || criticalPercent > 100) {
      throw new IllegalArgumentException("bad capacity settings: " + bytes + " bytes, warning " + warningPercent
          + "%, critical " + criticalPercent + "% (need 0 < warning < critical <= 100)");
    }
    checkOpen();
    DatastoreDescriptor d = capacity.descriptor().withCapacity(bytes, warningPercent, criticalPercent);
    d.write(dir);
    capacity.setDescriptor(d);
  }

  /** Returns the datastore's figures and alarms. */
  public DatastoreInfo info() {
    checkOpen();
    capacity.evaluate();
    long provisioned = 0;
    long allocated = 0;
    for (VolumeState v : volumes.values()) {
      provisioned += v.size;
      allocated += v.allocated.get();
    }
    long limit = capacity.limit();
    DatastoreDescriptor d = capacity.descriptor();
    return new DatastoreInfo(dir.toString(), d.uuid().toString(), limit, provisioned, allocated, segments.totalBytes(),
        limit == 0 ? 0 : (double) provisioned / limit, volumes.size(), segments.sizes().size(), d.warningPercent(),
        d.criticalPercent(), capacity.alarms());
  }

  /** Verifies every invariant of the committed state (after a flush); changes nothing. */
  public CheckReport check() throws IOException {
    commitLock.writeLock().lock();
    try {
      checkOpen();
      flushLocked();
      return new DatastoreChecker(this).run();
    } finally {
      commitLock.writeLock().unlock();
    }
  }

  /** Reclaims dead space now: rewrites live data out of mostly-dead segments and deletes them. */
  public CleanerReport clean() throws IOException {
    checkOpen();
    return cleaner.clean(options.cleanBelowLiveRatio(), false);
  }

  private void checkOpen() {
    if (!open) {
      throw new AlreadyClosedException(this);
    }
  }

  private static void checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad volume name '" + name
          + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  @Override
  public void close() throws IOException {
    if (!open) {
      return;
    }
    cleaner.stopBackground();
    flusher.stop();
    IOException failure = null;
    commitLock.writeLock().lock();
    try {
      try {
        flushLocked();
      } catch (IOException e) {
        failure = e;
      }
      open = false;
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
      commitLock.writeLock().unlock();
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
    cleaner.stopBackground();
    flusher.stop();
    commitLock.writeLock().lock();
    try {
      open = false;
      try {
        segments.abandon();
      } finally {
        meta.close();
        fileLock.close();
      }
    } finally {
      commitLock.writeLock().unlock();
    }
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
