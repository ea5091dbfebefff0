package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.Argon2Params;
import io.vstore.backup.crypto.ChunkHasher;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.AlreadyClosedException;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A backup repository in an {@link ObjectStore}: deduplicated chunks in packs, their index, and
 * backup points. Thread-safe. The chunk index is loaded into memory (see {@link ChunkIndex} for its
 * cost) on first use, not at open: listing, showing, diffing and pruning points never need it, and
 * its cost grows with the whole repository, not with their work. Everything else is read on demand.
 *
 * <p>Writes are ordered so that a crash at any moment leaves a consistent repository: a pack before
 * the index object naming it, a point's pages before its manifest.
 */
public final class Repository implements Closeable {
  private final ObjectStore store;
  private final ConfigObject configObject;
  private final RepositoryConfig config;
  private final Aead dataKey;
  private final ChunkHasher hasher;
  private final BlobCodec codec;
  private final HiddenChunks hidden = new HiddenChunks(this);
  private final byte[] chunkKey;
  private final KeyRing keys;
  private final Argon2Params argon2;
  private final int packTarget;
  private final IndexLoader indexLoader;
  private volatile boolean closed;

  private Repository(ObjectStore store, ConfigObject config, byte[] master, byte[] chunkKey, RepositoryOptions options) {
    this.store = store;
    this.configObject = config;
    this.config = config.toConfig();
    this.dataKey = master == null ? null : new Aead(Arrays.copyOfRange(master, 0, 32));
    this.hasher = new ChunkHasher(chunkKey);
    this.chunkKey = chunkKey.clone();
    this.codec = new BlobCodec(config.compression(), dataKey, hasher, config.chunkSize());
    this.keys = new KeyRing(this, master);
    this.argon2 = options.argon2();
    this.packTarget = options.packTargetBytes();
    this.indexLoader = new IndexLoader(store, dataKey, Hex.of(config.repoId()), IndexCache.SHARED);
  }

  /**
   * Creates a repository in an empty {@code store}, encrypted under {@code key} unless it is null,
   * and returns it open.
   *
   * @throws IOException if the store already holds a repository
   */
  public static Repository init(ObjectStore store, KeySource key, RepositoryOptions options) throws IOException {
    return init(store, key, options, null);
  }

  /**
   * Creates a repository whose chunk-id key is {@code sharedChunkKey} (32 bytes) when it is not
   * null: chunk ids then match another repository's, which sync needs (see RepositoryMaintenance).
   */
  static Repository init(ObjectStore store, KeySource key, RepositoryOptions options, byte[] sharedChunkKey)
      throws IOException {
    if (store.stat(ConfigObject.KEY).isPresent()) {
      throw new IOException("a backup repository already exists at " + store);
    }
    byte[] repoId = Aead.randomBytes(16);
    byte[] master = key == null ? null : Aead.randomBytes(KeyObject.MASTER_BYTES);
    if (master != null && sharedChunkKey != null) {
      System.arraycopy(sharedChunkKey, 0, master, 32, 32);
    }
    byte[] chunkKey = master == null ? (sharedChunkKey != null ? sharedChunkKey.clone() : Aead.randomBytes(32))
        : Arrays.copyOfRange(master, 32, 64);
    byte[] chunkKeyField = master == null ? chunkKey
        : new Aead(Arrays.copyOfRange(master, 0, 32)).seal(chunkKey, 0, 32, repoId);
    ConfigObject config = new ConfigObject(repoId, options.chunkSize(), options.compression(), master != null,
        defaultPageChunks(options.chunkSize()), System.currentTimeMillis(), chunkKeyField);
    if (key != null) {
      // The key first: a crash before the config leaves a key no repository uses, never a repository without keys.
      KeyRing.store(store, KeyRing.wrap(key, "initial", options.argon2(), repoId, master));
    }
    if (!store.putIfAbsent(ConfigObject.KEY, ByteBuffer.wrap(config.write()))) {
      throw new IOException("a backup repository already exists at " + store);
    }
    return new Repository(store, config, master, chunkKey, options);
  }

  /** Pages of 8,192 chunks at 64 KiB (512 MiB of volume, 256 KiB of page); the same page bytes at other sizes. */
  static int defaultPageChunks(int chunkSize) {
    return 8192;
  }

  /**
   * Opens the repository in {@code store}; {@code key} unlocks it if it is encrypted (ignored if it
   * is not).
   *
   * @throws WrongKeyException if the key opens none of its keys
   * @throws CorruptObjectException if the config is damaged
   */
  public static Repository open(ObjectStore store, KeySource key) throws IOException {
    return open(store, key, RepositoryOptions.defaults());
  }

  /** Opens the repository, with {@code options}' passphrase cost and pack size for what this process writes. */
  public static Repository open(ObjectStore store, KeySource key, RepositoryOptions options) throws IOException {
    byte[] configBytes;
    try {
      configBytes = store.get(ConfigObject.KEY);
    } catch (NoSuchObjectException e) {
      throw new NoSuchObjectException("no backup repository at " + store + " (it has no config object)");
    }
    ConfigObject config = ConfigObject.read(configBytes);
    byte[] master = null;
    byte[] chunkKey;
    if (config.encrypted()) {
      if (key == null) {
        throw new WrongKeyException("repository " + store + " is encrypted: give --passphrase-file, --key-file or "
            + "VSTORE_BACKUP_PASSPHRASE");
      }
      master = KeyRing.unlock(store, config, key);
      chunkKey = Arrays.copyOfRange(master, 32, 64);
    } else {
      chunkKey = config.chunkKeyField();
    }
    return new Repository(store, config, master, chunkKey, options);
  }

  /** Loads the chunk index unless it is loaded (once; concurrent callers wait for the one load). */
  private void loadIndex() throws IOException {
    indexLoader.load();
  }

  /**
   * Loads the chunk index now rather than at its first use: a backup does it on a thread of its own
   * beside its other start-up work (the datastore's opening).
   */
  public void preloadIndex() throws IOException {
    checkOpen();
    loadIndex();
  }

  /** Returns the loaded chunk index; an I/O failure loading it is unchecked here (callers that can throw load first). */
  private ChunkIndex loadedIndex() {
    return indexLoader.loaded();
  }

  /** Keeps the entries of index object {@code key} that a sink of this repository wrote (see {@link IndexLoader#remember}). */
  void rememberIndexObject(String key, List<IndexObject.PackEntries> packs) {
    indexLoader.remember(key, packs);
  }

  /** Returns the repository's settings. */
  public RepositoryConfig config() {
    return config;
  }

  /** Returns the store it lives in. */
  public ObjectStore store() {
    return store;
  }

  /** Returns the id of a chunk: HMAC-SHA256 of its plaintext under the chunk-id key; the buffer is not moved. */
  public ChunkId chunkId(ByteBuffer plaintext) {
    return ChunkId.wrap(hasher.hash(plaintext));
  }

  /** Returns true if the chunk is in the index, or was added by a sink of this process. */
  public boolean hasChunk(ChunkId id) {
    checkOpen();
    return loadedIndex().contains(id);
  }

  /** Returns the number of chunks in the index (with those added by this process). */
  public long chunkCount() {
    return loadedIndex().size();
  }

  /** Opens a sink for one backup or sync session. */
  public ChunkSink openSink() throws IOException {
    checkOpen();
    loadIndex();
    return new PackSink(this, codec, dataKey, packTarget, config.chunkSize());
  }

  /**
   * Reads, authenticates, decompresses and re-hashes a chunk and returns its plaintext.
   *
   * @throws CorruptObjectException naming the pack and chunk if anything does not match
   */
  public ByteBuffer readChunk(ChunkId id) throws IOException {
    ChunkPlace place = place(id);
    byte[] stored = readPackRange(place.packKey(), place.offset(), place.storedLength(), id);
    return decodeChunk(place, stored, 0);
  }

  /**
   * Returns where chunk {@code id} is stored: for readers that fetch many chunks of a pack in one
   * {@link #readPackRange} and decode each with {@link #decodeChunk}.
   *
   * @throws CorruptObjectException if the index does not know the chunk
   */
  public ChunkPlace place(ChunkId id) throws IOException {
    checkOpen();
    loadIndex();
    ChunkIndex.Location loc = indexLoader.index().get(id);
    if (loc == null) {
      loc = hidden.find(id); // a point committed across a gc may use what gc took out of the index
    }
    if (loc == null) {
      throw new CorruptObjectException("bad backup repository: chunk " + id.hex() + " is not in the index of " + store);
    }
    if (loc.packNumber() == ChunkIndex.RESERVED) {
      throw new IOException("chunk " + id.hex() + " of " + store + " is still being stored by a sink");
    }
    return new ChunkPlace(id, Hex.packKey(loc.packId()), loc.offset(), loc.storedLength(), loc.plainLength());
  }

  /**
   * Reads {@code length} bytes of pack {@code packKey} from {@code offset}: the blobs of one or
   * more chunks (and whatever lies between them).
   *
   * @param forChunk the chunk the range is read for, named in errors
   * @throws CorruptObjectException if the pack is missing or ends before the range does
   */
  public byte[] readPackRange(String packKey, long offset, int length, ChunkId forChunk) throws IOException {
    checkOpen();
    try {
      return store.get(packKey, offset, length);
    } catch (NoSuchObjectException | EOFException e) {
      throw packRangeError(e, packKey, offset, length, forChunk);
    }
  }

  /**
   * Fills {@code dst} (its remaining bytes) from pack {@code packKey} at {@code offset}: a reader of
   * many ranges (a restore worker) reuses one buffer, and a directory store reads straight into it.
   *
   * @throws CorruptObjectException if the pack is missing or ends before the range does
   */
  public void readPackRange(String packKey, long offset, ByteBuffer dst, ChunkId forChunk) throws IOException {
    checkOpen();
    int length = dst.remaining();
    try {
      store.read(packKey, offset, dst);
    } catch (NoSuchObjectException | EOFException e) {
      throw packRangeError(e, packKey, offset, length, forChunk);
    }
  }

  private CorruptObjectException packRangeError(IOException e, String packKey, long offset, int length,
      ChunkId forChunk) {
    if (e instanceof NoSuchObjectException) {
      return new CorruptObjectException("bad backup repository: pack " + packKey + " of chunk " + forChunk.hex()
          + " is missing from " + store);
    }
    return new CorruptObjectException("bad backup repository: pack " + packKey + " ends before chunk "
        + forChunk.hex() + " at " + offset + "+" + length);
  }

  /**
   * Authenticates, decompresses and (unencrypted repositories only) re-hashes the blob of
   * {@code place}, which starts at {@code at} in {@code range}, a range of its pack read from
   * {@code place.offset() - at}; returns the plaintext.
   *
   * @throws CorruptObjectException naming the pack and chunk if anything does not match
   */
  public ByteBuffer decodeChunk(ChunkPlace place, byte[] range, int at) throws CorruptObjectException {
    java.util.Objects.checkFromIndexSize(at, place.storedLength(), range.length);
    return codec.decode(place.id(), range, at, place.storedLength(), place.plainLength(), place.packKey(),
        place.offset());
  }

  /** Returns a decoder for one thread that decodes many chunks without allocating per chunk (close it). */
  public ChunkDecoder newDecoder() {
    checkOpen();
    return new ChunkDecoder(codec);
  }

  /**
   * Starts a new point of a volume of {@code sizeBytes}; chunks not set are taken from {@code base}
   * (which must have the same size), or are holes when it is null.
   */
  public PointWriter newPoint(long sizeBytes, PointReader base) {
    checkOpen();
    if (base != null && !(base instanceof PagedPointReader)) {
      throw new IllegalArgumentException("base " + base + " is not a point of a repository");
    }
    return new PagedPointWriter(this, sizeBytes, (PagedPointReader) base);
  }

  /** Returns every point, oldest first (by time, then id); reads every manifest, caches none. */
  public List<PointInfo> points() throws IOException {
    checkOpen();
    List<String> ids = pointIds("");
    List<PointInfo> out = java.util.Collections.synchronizedList(new ArrayList<>(ids.size()));
    // Manifests are fetched a few at a time: on S3 each is a round trip.
    IndexLoader.inParallel(store, ids, id -> {
      try {
        out.add(readManifest(id).info());
      } catch (NoSuchObjectException e) {
        // Deleted (pruned) since the listing.
      }
    });
    List<PointInfo> sorted = new ArrayList<>(out);
    sorted.sort(Comparator.comparing(PointInfo::time).thenComparing(PointInfo::id));
    return sorted;
  }

  List<String> pointIds(String prefix) throws IOException {
    List<String> ids = new ArrayList<>();
    store.list(Manifest.PREFIX + prefix, o -> {
      String id = o.key().substring(Manifest.PREFIX.length());
      if (Hex.isHex(id, 16)) {
        ids.add(id);
      }
    });
    ids.sort(null);
    return ids;
  }

  Manifest readManifest(String id) throws IOException {
    return Manifest.read(store.get(Hex.pointKey(id)), dataKey, id, config.chunkSize());
  }

  /**
   * Opens a point by its id or a prefix of it that matches one point only.
   *
   * @throws NoSuchPointException if none or several match
   */
  public PointReader openPoint(String idOrUniquePrefix) throws IOException {
    checkOpen();
    String want = idOrUniquePrefix.toLowerCase(java.util.Locale.ROOT);
    if (want.isEmpty() || !want.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new NoSuchPointException("no point '" + idOrUniquePrefix + "' in " + store + " (point ids are hex)");
    }
    List<String> matches = want.length() == 16 ? List.of(want) : pointIds(want);
    if (matches.isEmpty()) {
      throw new NoSuchPointException("no point '" + idOrUniquePrefix + "' in " + store);
    }
    if (matches.size() > 1) {
      throw new NoSuchPointException("point prefix '" + idOrUniquePrefix + "' matches " + matches.size() + " points in "
          + store + ": " + String.join(", ", matches.subList(0, Math.min(5, matches.size())))
          + (matches.size() > 5 ? ", …" : ""));
    }
    try {
      return new PagedPointReader(this, readManifest(matches.getFirst()));
    } catch (NoSuchObjectException e) {
      throw new NoSuchPointException("no point '" + idOrUniquePrefix + "' in " + store);
    }
  }

  /** Deletes a point's manifest; its pages and chunks stay until gc. */
  public void deletePoint(String id) throws IOException {
    checkOpen();
    if (!Hex.isHex(id, 16)) {
      throw new NoSuchPointException("no point '" + id + "' in " + store + " (a point id is 16 hex digits)");
    }
    if (store.stat(Hex.pointKey(id)).isEmpty()) {
      throw new NoSuchPointException("no point '" + id + "' in " + store);
    }
    store.delete(Hex.pointKey(id));
  }

  /** Returns the keys of the repository (empty if it is not encrypted). */
  public KeyRing keys() {
    checkOpen();
    return keys;
  }

  /** Checks structure: every object parses, every reference resolves. Never throws on corrupt data. */
  public RepositoryReport check() throws IOException {
    checkOpen();
    loadIndex();
    return new Checker(this).check();
  }

  /** Reads and authenticates every chunk of {@code samplePercent} percent of the packs (0-100). */
  public RepositoryReport verify(double samplePercent) throws IOException {
    checkOpen();
    if (!(samplePercent >= 0 && samplePercent <= 100)) {
      throw new IllegalArgumentException("sample percent " + samplePercent + " is not within 0..100");
    }
    loadIndex();
    return new Checker(this).verify(samplePercent);
  }

  // --- for the package ---

  ChunkIndex index() {
    return loadedIndex();
  }

  HiddenChunks hidden() {
    return hidden;
  }

  byte[] chunkKey() {
    return chunkKey.clone();
  }

  int packTarget() {
    return packTarget;
  }

  Aead dataKey() {
    return dataKey;
  }

  ChunkHasher hasher() {
    return hasher;
  }

  BlobCodec codec() {
    return codec;
  }

  ConfigObject configObject() {
    return configObject;
  }

  Argon2Params argon2() {
    return argon2;
  }

  byte[] repoIdBytes() {
    return configObject.repoId();
  }

  List<RepositoryReport.Problem> loadProblems() {
    return indexLoader.problems();
  }

  /** Returns the ids of a page, or all zeros (holes) for a null page id. */
  byte[] readPage(ChunkId pageId, int count) throws IOException {
    if (pageId == null) {
      return new byte[count * ChunkId.BYTES];
    }
    String key = Hex.pageKey(pageId);
    byte[] obj;
    try {
      obj = store.get(key);
    } catch (NoSuchObjectException e) {
      // gc moves unreferenced pages aside before deleting them; a point committed across it reads them there
      String aside = hidden.pageKey(pageId);
      try {
        if (aside == null) {
          throw e;
        }
        obj = store.get(aside);
        key = aside;
      } catch (NoSuchObjectException gone) {
        throw new CorruptObjectException("bad backup repository: page " + key + " is missing from " + store);
      }
    }
    byte[] ids = Page.read(obj, dataKey, key, count);
    ByteBuffer body = Page.body(ids, count);
    if (!MessageDigest.isEqual(hasher.hash(body), pageId.bytesUnsafe())) {
      throw new CorruptObjectException("bad backup repository: page " + key + " does not hash to its name");
    }
    return ids;
  }

  /** Stores a page (unless an equal one exists) and returns its id; null if every entry is a hole. */
  ChunkId writePage(byte[] ids, int count) throws IOException {
    boolean empty = true;
    for (int i = 0; i < count * ChunkId.BYTES; i++) {
      if (ids[i] != 0) {
        empty = false;
        break;
      }
    }
    if (empty) {
      return null;
    }
    ByteBuffer body = Page.body(ids, count);
    ChunkId id = ChunkId.wrap(hasher.hash(body));
    String key = Hex.pageKey(id);
    store.putIfAbsent(key, ByteBuffer.wrap(Page.write(body, dataKey, key)));
    return id;
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException("backup repository " + store + " is closed");
    }
  }

  /** Closes the repository (not its store, which the caller opened). */
  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return "backup repository " + store;
  }
}
