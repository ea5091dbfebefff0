package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What maintenance (gc, sync: package {@code io.vstore.backup.maint}) needs of a repository beyond
 * its public API: its index objects, pack trailers, the page ids of a point, and copies of pages
 * and index entries under other keys (sealed again for the new key when encrypted). Kept apart
 * from {@link Repository} so that the repository's own surface stays what backups need.
 */
public final class RepositoryMaintenance {
  /** Prefix of the objects gc keeps beside the repository (candidate rounds). */
  public static final String GC_PREFIX = "gc/";

  /** One entry of an index object: where a chunk is. */
  public record IndexEntry(byte[] packId, ChunkId id, int offset, int storedLength, int plainLength) {}

  private final Repository repo;

  /** Returns the maintenance view of {@code repo}. */
  public RepositoryMaintenance(Repository repo) {
    this.repo = repo;
  }

  /** Returns the repository. */
  public Repository repository() {
    return repo;
  }

  /** Returns the keys of the index objects, sorted. */
  public List<String> indexKeys() throws IOException {
    List<String> keys = new ArrayList<>();
    repo.store().list(IndexObject.PREFIX, o -> keys.add(o.key()));
    keys.sort(null);
    return keys;
  }

  /**
   * Calls {@code visitor} for every entry of an index-format object ({@code index/...} or one gc
   * keeps under {@code gc/}).
   *
   * @throws NoSuchObjectException if it is gone
   * @throws CorruptObjectException if it does not parse or authenticate
   */
  public void readIndex(String key, Consumer<IndexEntry> visitor) throws IOException {
    try {
      IndexObject.read(repo.store().get(key), repo.dataKey(), key,
          (packId, id, offset, stored, plain) -> visitor.accept(new IndexEntry(packId, id, offset, stored, plain)));
    } catch (UnsupportedFormatException e) {
      throw new CorruptObjectException(e.getMessage(), e);
    }
  }

  /** Returns a fresh key for an index object. */
  public static String newIndexKey() {
    return IndexObject.PREFIX + Hex.of(Aead.randomBytes(16));
  }

  /**
   * Writes {@code entries} as an index-format object under {@code key} (under {@code index/} or
   * {@code gc/}); the packs it names must be durable already.
   *
   * @return false if an object with that key exists (nothing written)
   */
  public boolean writeIndex(String key, List<IndexEntry> entries) throws IOException {
    if (!key.startsWith(IndexObject.PREFIX) && !key.startsWith(GC_PREFIX)) {
      throw new IllegalArgumentException("index object key outside index/ and gc/: " + key);
    }
    Map<String, List<IndexEntry>> byPack = new LinkedHashMap<>();
    for (IndexEntry e : entries) {
      byPack.computeIfAbsent(Hex.of(e.packId()), k -> new ArrayList<>()).add(e);
    }
    List<IndexObject.PackEntries> packs = new ArrayList<>(byPack.size());
    for (List<IndexEntry> list : byPack.values()) {
      int n = list.size();
      ChunkId[] ids = new ChunkId[n];
      int[] offsets = new int[n];
      int[] stored = new int[n];
      int[] plain = new int[n];
      for (int i = 0; i < n; i++) {
        IndexEntry e = list.get(i);
        ids[i] = e.id();
        offsets[i] = e.offset();
        stored[i] = e.storedLength();
        plain[i] = e.plainLength();
      }
      packs.add(new IndexObject.PackEntries(list.getFirst().packId(), ids, offsets, stored, plain));
    }
    return repo.store().putIfAbsent(key, ByteBuffer.wrap(IndexObject.write(packs, repo.dataKey(), key)));
  }

  /**
   * Returns the entries a pack's own trailer lists: a pack can be indexed again from itself.
   *
   * @throws NoSuchObjectException if there is no such pack
   */
  public List<IndexEntry> readTrailer(byte[] packId) throws IOException {
    PackTrailer t;
    try {
      t = new Checker(repo).readTrailer(Hex.packKey(packId));
    } catch (UnsupportedFormatException e) {
      throw new CorruptObjectException(e.getMessage(), e);
    }
    List<IndexEntry> out = new ArrayList<>(t.count());
    for (int i = 0; i < t.count(); i++) {
      out.add(new IndexEntry(packId.clone(), t.ids()[i], t.offsets()[i], t.storedLengths()[i], t.plainLengths()[i]));
    }
    return out;
  }

  /** Returns the ids of the pages a point's manifest names (holes left out, repeats kept). */
  public List<ChunkId> pageIds(String pointId) throws IOException {
    Manifest m = repo.readManifest(pointId);
    List<ChunkId> out = new ArrayList<>();
    for (ChunkId p : m.root()) {
      if (p != null && !p.isZero()) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * Copies a page object to another key, sealing it again for that key when the repository is
   * encrypted (a sealed object authenticates its own key).
   *
   * @return false if {@code toKey} existed (nothing written)
   * @throws NoSuchObjectException if {@code fromKey} does not exist
   */
  public boolean copyPage(String fromKey, String toKey) throws IOException {
    ByteBuffer body;
    try {
      byte[] obj = repo.store().get(fromKey);
      body = Envelope.read(obj, 0, obj.length, Envelope.PAGE, Page.VERSION, repo.dataKey(), fromKey);
    } catch (UnsupportedFormatException e) {
      throw new CorruptObjectException(e.getMessage(), e);
    }
    return repo.store().putIfAbsent(toKey, ByteBuffer.wrap(Page.write(body, repo.dataKey(), toKey)));
  }

  /** Receives 32-byte ids: the one at {@code offset} of {@code ids}. */
  @FunctionalInterface
  public interface IdVisitor {
    /** Takes the id at {@code offset} of {@code ids} (do not keep the array). */
    void id(byte[] ids, int offset);
  }

  /**
   * Reads a page and passes each chunk id it holds (holes left out) to {@code visitor}.
   *
   * @throws CorruptObjectException if the page is missing (also from gc's hidden pages) or damaged
   */
  public void forEachChunkOfPage(ChunkId pageId, IdVisitor visitor) throws IOException {
    StoredPage page = readPageObject(pageId);
    ByteBuffer body;
    try {
      body = Envelope.read(page.bytes, 0, page.bytes.length, Envelope.PAGE, Page.VERSION, repo.dataKey(), page.key);
    } catch (UnsupportedFormatException e) {
      throw new CorruptObjectException(e.getMessage(), e);
    }
    Envelope.need(body, 4, page.key, "page", "count");
    long count = body.getInt() & 0xffffffffL;
    if (count * ChunkId.BYTES != body.remaining()) {
      throw Envelope.corrupt(page.key, "page", count + " ids need " + count * ChunkId.BYTES + " bytes, found "
          + body.remaining());
    }
    byte[] ids = new byte[body.remaining()];
    body.get(ids);
    for (int off = 0; off < ids.length; off += ChunkId.BYTES) {
      boolean hole = true;
      for (int i = off; i < off + ChunkId.BYTES; i++) {
        if (ids[i] != 0) {
          hole = false;
          break;
        }
      }
      if (!hole) {
        visitor.id(ids, off);
      }
    }
  }

  /** A page object and the key it was read from: {@code pages/} or, when gc hid it, its gc copy. */
  private record StoredPage(String key, byte[] bytes) {}

  private StoredPage readPageObject(ChunkId pageId) throws IOException {
    String key = Hex.pageKey(pageId);
    try {
      return new StoredPage(key, repo.store().get(key));
    } catch (NoSuchObjectException e) {
      String hidden = repo.hidden().pageKey(pageId);
      if (hidden != null) {
        try {
          return new StoredPage(hidden, repo.store().get(hidden));
        } catch (NoSuchObjectException gone) {
          // collected meanwhile: reported below like any missing page
        }
      }
      throw new CorruptObjectException("bad backup repository: page " + key + " is missing from " + repo.store());
    }
  }

  /** Returns the key of a pack. */
  public static String packKey(byte[] packId) {
    return Hex.packKey(packId);
  }

  /** Returns the key of a page. */
  public static String pageKey(ChunkId pageId) {
    return Hex.pageKey(pageId);
  }

  /** Returns the pack id of a pack key ({@code data/xx/<32 hex>}), or null if it is not one. */
  public static byte[] packIdOf(String key) {
    if (!key.startsWith("data/") || key.length() != 5 + 3 + 32) {
      return null;
    }
    String hex = key.substring(8);
    return Hex.isHex(hex, 32) && key.substring(5, 7).equals(hex.substring(0, 2)) ? Hex.parse(hex) : null;
  }

  /** Returns the page id of a page key ({@code pages/xx/<64 hex>}), or null if it is not one. */
  public static ChunkId pageIdOf(String key) {
    if (!key.startsWith(Page.PREFIX) || key.length() != 6 + 3 + 64) {
      return null;
    }
    String hex = key.substring(9);
    return Hex.isHex(hex, 64) && key.substring(6, 8).equals(hex.substring(0, 2)) ? ChunkId.fromHex(hex) : null;
  }

  /**
   * Creates a repository in {@code store} whose chunk ids match {@code from}'s (it shares the
   * chunk-id key, under its own data key and passphrase), so that sync can copy only the chunks it
   * lacks.
   */
  public static Repository initSharingChunkIds(ObjectStore store, KeySource key, RepositoryOptions options,
      Repository from) throws IOException {
    if (options.chunkSize() != from.config().chunkSize()) {
      options = options.withChunkSize(from.config().chunkSize());
    }
    return Repository.init(store, key, options, from.chunkKey());
  }

  /**
   * Commits {@code writer}'s point under {@code pointId} (sync keeps ids, so a rerun sees what
   * arrived).
   *
   * @throws IOException if a point with that id exists
   */
  public static PointInfo commitAs(PointWriter writer, String pointId, PointMeta meta, ChunkSink sink)
      throws IOException {
    if (!Hex.isHex(pointId, 16)) {
      throw new IllegalArgumentException("bad point id '" + pointId + "'");
    }
    return ((PagedPointWriter) writer).commit(meta, sink, pointId);
  }

  /** Returns the point's metadata as its manifest holds it (bytes read included, which PointInfo lacks). */
  public PointMeta metaOf(String pointId) throws IOException {
    Manifest m = repo.readManifest(pointId);
    PointInfo i = m.info();
    return new PointMeta(i.source(), i.kind(), i.group(), i.changeId(), i.time(), i.tags(), m.bytesRead());
  }

  /**
   * Reads, authenticates and returns a chunk's plaintext from the place {@code e} names, whether or
   * not this process's index lists it (gc reads index objects written after the repository was opened).
   *
   * @throws CorruptObjectException naming the pack and chunk if anything does not match
   */
  public ByteBuffer readChunkAt(IndexEntry e) throws IOException {
    String packKey = Hex.packKey(e.packId());
    byte[] stored;
    try {
      stored = repo.store().get(packKey, e.offset(), e.storedLength());
    } catch (NoSuchObjectException | java.io.EOFException x) {
      throw new CorruptObjectException("bad backup repository: pack " + packKey + " of chunk " + e.id().hex()
          + " is missing or too short in " + repo.store());
    }
    return repo.codec().decode(e.id(), stored, 0, stored.length, e.plainLength(), packKey, e.offset());
  }

  /**
   * Opens a sink that stores every chunk added, also those the index has: gc copies the live chunks
   * of mostly-garbage packs into new packs with it, so the old packs can go.
   */
  public ChunkSink openRepackSink() {
    return new PackSink(repo, repo.codec(), repo.dataKey(), repo.packTarget(), repo.config().chunkSize(), true);
  }

  /** Forgets what this process learned of gc's hidden chunks and pages, so the next miss looks again. */
  public void forgetHidden() {
    repo.hidden().forget();
  }
}
