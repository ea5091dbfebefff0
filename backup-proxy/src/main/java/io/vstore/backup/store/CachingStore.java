package io.vstore.backup.store;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * An {@link ObjectStore} that keeps local copies of another store's small objects which a
 * repository reads often and never changes (config, keys, indexes, point manifests and pages), so
 * that opening a repository on S3 again does not download every index again. Everything else
 * (packs, locks) passes straight through.
 *
 * <p>Objects are immutable, so a copy is right as long as the remote object is the same one: a
 * copy is served only once this process has seen the remote object's size and time match it — in
 * a listing (the repository lists its indexes when it opens, which checks them all in one request
 * per thousand) or else by one stat. A copy whose object a listing no longer shows is dropped. The
 * directory is bounded in bytes (least recently used copies go first) and may be shared by several
 * processes: copies are written to a temporary file and renamed, a copy that vanished is a miss,
 * and each copy carries a CRC32C (a damaged one is dropped and fetched again).
 */
public final class CachingStore implements ObjectStore {
  /** The key prefixes of the repository's small immutable objects that are worth caching. */
  public static final List<String> REPOSITORY_PREFIXES = List.of("config", "keys/", "index/", "points/", "pages/");
  /** Objects larger than this are not cached. */
  public static final int MAX_CACHED_OBJECT = 8 << 20;
  /** The default bound of a cache directory. */
  public static final long DEFAULT_MAX_BYTES = 512L << 20;

  private static final String TMP_SUFFIX = ".tmp";

  private final ObjectStore remote;
  private final Path dir;
  private final long maxBytes;
  private final Predicate<String> cacheable;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong clock = new AtomicLong();
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private volatile boolean closed;

  /** What the cache knows of one copy; {@code verified} once the remote object was seen to match. */
  private static final class Entry {
    final ObjectInfo info;
    final Path file;
    final long fileBytes;
    volatile long lastUse;
    volatile boolean verified;

    Entry(ObjectInfo info, Path file, long fileBytes, long lastUse) {
      this.info = info;
      this.file = file;
      this.fileBytes = fileBytes;
      this.lastUse = lastUse;
    }
  }

  private CachingStore(ObjectStore remote, Path dir, long maxBytes, Predicate<String> cacheable) {
    this.remote = remote;
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.cacheable = cacheable;
  }

  /**
   * Opens the cache in {@code dir} (creating it) in front of {@code remote}, caching objects whose
   * key starts with one of {@link #REPOSITORY_PREFIXES}, at most {@code maxBytes} on disk.
   */
  public static CachingStore open(ObjectStore remote, Path dir, long maxBytes) throws IOException {
    return open(remote, dir, maxBytes,
        key -> REPOSITORY_PREFIXES.stream().anyMatch(p -> p.endsWith("/") ? key.startsWith(p) : key.equals(p)));
  }

  /** Opens the cache caching the keys {@code cacheable} accepts. */
  static CachingStore open(ObjectStore remote, Path dir, long maxBytes, Predicate<String> cacheable)
      throws IOException {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("negative cache size " + maxBytes);
    }
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("location"), remote + "\n", StandardCharsets.UTF_8);
    CachingStore cache = new CachingStore(remote, dir, maxBytes, cacheable);
    cache.load();
    return cache;
  }

  /** Returns the directory of the cache for {@code location} under {@code cacheRoot} (e.g. $XDG_CACHE_HOME). */
  public static Path directoryFor(Path cacheRoot, String location) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(location.getBytes(StandardCharsets.UTF_8));
      return cacheRoot.resolve("vstore").resolve("backup").resolve(HexFormat.of().formatHex(h, 0, 16));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  // Reads each copy's header (not its data) to rebuild the index; older copies count as less recently used.
  private void load() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().startsWith("o-")).toList();
    }
    for (Path f : files) {
      if (f.getFileName().toString().endsWith(TMP_SUFFIX)) {
        Files.deleteIfExists(f);   // left by a crash (or a writer right now: then it only refetches)
        continue;
      }
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(ch.size(), CacheEntryFile.MAX_HEADER));
        while (head.hasRemaining() && ch.read(head) > 0) {
          // fill
        }
        ObjectInfo info = CacheEntryFile.readHeader(head.flip(), f.toString());
        long age = Files.getLastModifiedTime(f).toMillis();
        if (!f.equals(fileOf(info.key()))) {
          throw new IOException("cache entry of " + info.key() + " under the wrong name " + f);
        }
        entries.put(info.key(), new Entry(info, f, ch.size(), age));
        bytes.addAndGet(ch.size());
      } catch (NoSuchFileException e) {
        // evicted by another process meanwhile
      } catch (IOException e) {
        Files.deleteIfExists(f);   // not ours or damaged: a cache may drop anything
      }
    }
    clock.set(entries.values().stream().mapToLong(e -> e.lastUse).max().orElse(0) + 1);
    evict();
  }

  /** Returns the remote store. */
  public ObjectStore remote() {
    return remote;
  }

  /** Returns how many whole-object reads the cache answered and how many went to the remote store. */
  public long[] hitsAndMisses() {
    return new long[] {hits.get(), misses.get()};
  }

  @Override
  public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
    boolean written = remote.putIfAbsent(key, data);
    if (written && cacheable.test(key) && data.remaining() <= MAX_CACHED_OBJECT) {
      Optional<ObjectInfo> info = remote.stat(key);
      if (info.isPresent() && info.get().size() == data.remaining()) {
        byte[] copy = new byte[data.remaining()];
        data.duplicate().get(copy);
        store(info.get(), copy).verified = true;
      }
    }
    return written;
  }

  @Override
  public byte[] get(String key) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    if (!cacheable.test(key)) {
      return remote.get(key);
    }
    byte[] cached = readVerified(key);
    if (cached != null) {
      hits.incrementAndGet();
      return cached;
    }
    misses.incrementAndGet();
    byte[] data = remote.get(key);
    if (data.length <= MAX_CACHED_OBJECT) {
      // The stat comes after the read: if it shows the size read, it describes the object read.
      Optional<ObjectInfo> info = remote.stat(key);
      if (info.isPresent() && info.get().size() == data.length) {
        store(info.get(), data).verified = true;
      }
    }
    return data;
  }

  @Override
  public byte[] get(String key, long offset, int length) throws IOException {
    ObjectKeys.check(key);
    ensureOpen();
    Entry e = entries.get(key);
    if (e != null && e.verified && offset >= 0 && length >= 0 && offset + length <= e.info.size()) {
      byte[] whole = readCopy(e);
      if (whole != null) {
        hits.incrementAndGet();
        return java.util.Arrays.copyOfRange(whole, (int) offset, (int) offset + length);
      }
    }
    return remote.get(key, offset, length);
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    Optional<ObjectInfo> info = remote.stat(key);
    Entry e = entries.get(key);
    if (e != null) {
      check(e, info.orElse(null));
    }
    return info;
  }

  @Override
  public void list(String prefix, Consumer<ObjectInfo> visitor) throws IOException {
    Set<String> seen = new HashSet<>();   // only keys the cache holds: bounded by the cache
    remote.list(prefix, info -> {
      Entry e = entries.get(info.key());
      if (e != null) {
        synchronized (seen) {
          seen.add(info.key());
        }
        check(e, info);
      }
      visitor.accept(info);
    });
    // The listing finished: a copy under the prefix it did not show is of a deleted object.
    for (Entry e : new ArrayList<>(entries.values())) {
      if (e.info.key().startsWith(prefix) && !seen.contains(e.info.key())) {
        drop(e);
      }
    }
  }

  @Override
  public void delete(String key) throws IOException {
    remote.delete(key);
    Entry e = entries.get(key);
    if (e != null) {
      drop(e);
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    remote.close();
  }

  private void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this + " is closed");
    }
  }

  @Override
  public String toString() {
    return remote.toString();
  }

  // Marks a copy verified if the remote object matches it, drops it if not (or if there is none).
  private void check(Entry e, ObjectInfo remoteInfo) {
    if (remoteInfo != null && remoteInfo.size() == e.info.size() && remoteInfo.modified().equals(e.info.modified())) {
      e.verified = true;
    } else {
      drop(e);
    }
  }

  private byte[] readVerified(String key) throws IOException {
    Entry e = entries.get(key);
    if (e == null) {
      return null;
    }
    if (!e.verified) {
      check(e, remote.stat(key).orElse(null));
      if (entries.get(key) != e) {
        return null;
      }
    }
    return readCopy(e);
  }

  private byte[] readCopy(Entry e) {
    try {
      byte[] file = Files.readAllBytes(e.file);
      CacheEntryFile entry = CacheEntryFile.decode(file, e.file.toString());
      if (!entry.info().equals(e.info)) {
        drop(e);   // replaced by another process with another object's copy
        return null;
      }
      e.lastUse = clock.incrementAndGet();
      return entry.data();
    } catch (IOException ex) {
      drop(e);   // gone (evicted elsewhere) or damaged: a miss
      return null;
    }
  }

  private Entry store(ObjectInfo info, byte[] data) throws IOException {
    ByteBuffer encoded = new CacheEntryFile(info, data).encode();
    Path file = fileOf(info.key());
    Path tmp = dir.resolve(file.getFileName() + "." + UUID.randomUUID() + TMP_SUFFIX);
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      while (encoded.hasRemaining()) {
        ch.write(encoded);
      }
    }
    // No fsync: after a crash a copy is either whole (its CRC holds) or dropped on reading.
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    Entry entry = new Entry(info, file, encoded.limit(), clock.incrementAndGet());
    Entry old = entries.put(info.key(), entry);
    bytes.addAndGet(entry.fileBytes - (old == null ? 0 : old.fileBytes));
    evict();
    return entry;
  }

  private void drop(Entry e) {
    if (entries.remove(e.info.key(), e)) {
      bytes.addAndGet(-e.fileBytes);
      try {
        // Another process may have written a newer copy under the same name; it is checked on reading.
        Files.deleteIfExists(e.file);
      } catch (IOException ignored) {
        // the copy stays on disk; load() or readCopy() will drop it
      }
    }
  }

  // Least recently used copies go until the directory is at most 90% of its bound.
  private void evict() {
    if (bytes.get() <= maxBytes) {
      return;
    }
    synchronized (this) {
      List<Entry> byAge = new ArrayList<>(entries.values());
      byAge.sort((a, b) -> Long.compare(a.lastUse, b.lastUse));
      for (Entry e : byAge) {
        if (bytes.get() <= maxBytes * 9 / 10) {
          break;
        }
        drop(e);
      }
    }
  }

  private Path fileOf(String key) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.US_ASCII));
      return dir.resolve("o-" + HexFormat.of().formatHex(h, 0, 20));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }
}
