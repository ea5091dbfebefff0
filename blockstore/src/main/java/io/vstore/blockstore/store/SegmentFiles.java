package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The datastore's append-only segment files. Space is reserved under a short lock and the bytes
 * are then written with positional I/O outside it, so writers compress and write in parallel.
 * A segment is never modified after the bytes of a record are written; it is deleted whole by the
 * cleaner once nothing refers to it.
 *
 * <pre>
 * segment header, little-endian, 64 bytes:
 *   0 "VSTORSEG"   8 u32 version (1)   12 u32 reserved   16 u64 segment id
 *  24 16 bytes datastore uuid   40..59 reserved   60 u32 CRC32C of bytes [0, 60)
 * </pre>
 */
final class SegmentFiles implements AutoCloseable {
  static final int HEADER_BYTES = 64;
  private static final byte[] MAGIC = "VSTORSEG".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final Path dir;
  private final UUID datastore;
  private final long maxSegmentBytes;
  private final ChannelOpener opener;
  private final Map<Long, FileChannel> channels = new ConcurrentHashMap<>();
  private final Set<Long> unsynced = ConcurrentHashMap.newKeySet();
  private final Map<Long, AtomicLong> sizes = new ConcurrentHashMap<>();
  private final AtomicLong totalBytes = new AtomicLong();
  /** Record headers recently read; records never change once written, so entries never go stale. */
  private final Map<RecordKey, RecordHeader> headers = new ConcurrentHashMap<>();
  private static final int HEADER_CACHE_ENTRIES = 1 << 16;
  /** Ids at or above this are not committed yet; guarded by this. */
  private long nextId;
  private long currentId = -1; // guarded by this
  private long currentEnd; // guarded by this
  private static final int APPEND_BUFFER_BYTES = 1 << 20;
  /** Records appended but not yet written to the file; guarded by this. */
  private final ByteBuffer appendBuffer = ByteBuffer.allocateDirect(APPEND_BUFFER_BYTES);
  /** The segment the append buffer belongs to and the file offset of its first byte. */
  private volatile long bufferedSegment = -1;
  private volatile long bufferStart;

  /**
   * Opens the segments in {@code dir}; files with ids at or above {@code committedNextId} were
   * never referenced by a commit and are deleted.
   */
  SegmentFiles(Path dir, UUID datastore, long maxSegmentBytes, long committedNextId, ChannelOpener opener)
      throws IOException {
    this.dir = dir;
    this.opener = opener;
    this.datastore = datastore;
    this.maxSegmentBytes = maxSegmentBytes;
    this.nextId = committedNextId;
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Long id = idOf(p);
        if (id == null) {
          continue;
        }
        if (id >= committedNextId) {
          Files.delete(p); // written after the last commit: nothing refers to it
          continue;
        }
        long size = Files.size(p);
        sizes.put(id, new AtomicLong(size));
        totalBytes.addAndGet(size);
      }
    }
  }

  private static Long idOf(Path p) {
    String name = p.getFileName().toString();
    if (!name.endsWith(".seg") || name.length() != 20) {
      return null;
    }
    try {
      return Long.parseLong(name.substring(0, 16), 16);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  Path path(long id) {
    return dir.resolve(String.format("%016x.seg", id));
  }

  /** Returns the id the next new segment would get; committed at every flush. */
  synchronized long nextId() {
    return nextId;
  }

  /** Returns the ids of all segments, sorted. */
  TreeMap<Long, Long> sizes() {
    TreeMap<Long, Long> out = new TreeMap<>();
    sizes.forEach((id, size) -> out.put(id, size.get()));
    return out;
  }

  /** Returns the bytes all segment files occupy. */
  long totalBytes() {
    return totalBytes.get();
  }

  /** Returns the id of the segment new records go to, or -1 before the first record. */
  synchronized long currentId() {
    return currentId;
  }

  /**
   * Appends {@code src} at the end of the current segment, starting a new one when it is full, and
   * returns where it went. Small records are gathered in an append buffer and written to the file
   * together (one pwrite for many 4 KiB records); large ones are written at once.
   */
  synchronized RecordKey append(ByteBuffer src) throws IOException {
    int n = src.remaining();
    if (currentId < 0 || currentEnd + n > maxSegmentBytes) {
      startSegment();
    }
    RecordKey key = new RecordKey(currentId, currentEnd);
    if (n > APPEND_BUFFER_BYTES / 4) {
      drainAppendBuffer();
      writeFully(channel(currentId), src, currentEnd, path(currentId));
      bufferStart = currentEnd + n;
    } else {
      if (appendBuffer.remaining() < n) {
        drainAppendBuffer();
      }
      appendBuffer.put(src);
    }
    currentEnd += n;
    sizes.get(currentId).addAndGet(n);
    totalBytes.addAndGet(n);
    unsynced.add(currentId);
    return key;
  }

  private void startSegment() throws IOException {
    drainAppendBuffer();
    long id = nextId++;
    Path p = path(id);
    FileChannel ch = opener.open(p, Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.READ, StandardOpenOption.WRITE));
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    header.put(MAGIC).putInt(1).putInt(0).putLong(id)
        .putLong(datastore.getMostSignificantBits()).putLong(datastore.getLeastSignificantBits());
    CRC32C crc = new CRC32C();
    crc.update(header.array(), 0, 60);
    header.putInt(60, (int) crc.getValue()).clear();
    writeFully(ch, header, 0, p);
    channels.put(id, ch);
    sizes.put(id, new AtomicLong(HEADER_BYTES));
    totalBytes.addAndGet(HEADER_BYTES);
    unsynced.add(id);
    currentId = id;
    currentEnd = HEADER_BYTES;
    bufferedSegment = id;
    bufferStart = HEADER_BYTES;
    // The directory entry must be durable too, or a synced segment could vanish after a crash.
    syncDirectory();
  }

  /** Writes what the append buffer holds to the current segment; the caller holds this lock. */
  private void drainAppendBuffer() throws IOException {
    if (appendBuffer.position() == 0) {
      return;
    }
    appendBuffer.flip();
    int n = appendBuffer.remaining();
    writeFully(channel(bufferedSegment), appendBuffer, bufferStart, path(bufferedSegment));
    appendBuffer.clear();
    bufferStart += n;
  }

  /**
   * Makes sure bytes {@code [offset, offset + length)} of {@code segment} are in the file before a
   * read: a read of records still in the append buffer drains it first. The unlocked check is safe
   * because the buffer only ever moves forward and a record is appended before anything can point
   * at it.
   */
  private void readable(long segment, long offset, int length) throws IOException {
    if (segment == bufferedSegment && offset + length > bufferStart) {
      synchronized (this) {
        if (segment == bufferedSegment && offset + length > bufferStart) {
          drainAppendBuffer();
        }
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer src, long position, Path p) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += ch.write(src, pos);
    }
  }

  /** Reads exactly {@code dst.remaining()} bytes at {@code offset} of segment {@code segment}. */
  void read(long segment, long offset, ByteBuffer dst) throws IOException {
    readable(segment, offset, dst.remaining());
    FileChannel ch = channel(segment);
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos);
      if (n < 0) {
        throw new CorruptDataException("bad segment: " + path(segment) + " ends before offset " + pos
            + " (a map entry points past its end)");
      }
      pos += n;
    }
  }

  /** Reads up to {@code dst.remaining()} bytes; returns how many (fewer only at the end of the file). */
  int readSome(long segment, long offset, ByteBuffer dst) throws IOException {
    readable(segment, offset, dst.remaining());
    FileChannel ch = channel(segment);
    int total = 0;
    long pos = offset;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos);
      if (n < 0) {
        break;
      }
      total += n;
      pos += n;
    }
    return total;
  }

  private FileChannel channel(long segment) throws IOException {
    FileChannel ch = channels.get(segment);
    if (ch != null) {
      return ch;
    }
    try {
      return channels.computeIfAbsent(segment, id -> {
        try {
          return opener.open(path(id), Set.of(StandardOpenOption.READ));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof java.nio.file.NoSuchFileException) {
        throw new CorruptDataException("bad segment: " + path(segment) + " is missing");
      }
      throw e.getCause();
    }
  }

  /** Validates segment {@code id}'s header. */
  void checkHeader(long id) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    if (readSome(id, 0, header) < HEADER_BYTES) {
      throw new EOFException("bad segment: " + path(id) + " is shorter than its header");
    }
    header.flip();
    byte[] magic = new byte[8];
    header.get(magic);
    CRC32C crc = new CRC32C();
    crc.update(header.array(), 0, 60);
    if (!java.util.Arrays.equals(magic, MAGIC) || header.getInt(60) != (int) crc.getValue()
        || header.getLong(16) != id
        || header.getLong(24) != datastore.getMostSignificantBits()
        || header.getLong(32) != datastore.getLeastSignificantBits()) {
      throw new CorruptDataException("bad segment: " + path(id) + " header is not segment " + id + " of datastore " + datastore);
    }
  }

  /** Returns the cached header of the record at {@code key}, or null. */
  RecordHeader cachedHeader(RecordKey key) {
    return headers.get(key);
  }

  /** Caches the header of the record at {@code key}. */
  void cacheHeader(RecordKey key, RecordHeader header) {
    if (headers.size() >= HEADER_CACHE_ENTRIES) {
      headers.clear(); // crude but bounded; hot headers come back on their next read
    }
    headers.put(key, header);
  }

  /** Makes every completed write durable. */
  void sync() throws IOException {
    synchronized (this) {
      drainAppendBuffer();
    }
    for (Long id : unsynced.toArray(Long[]::new)) {
      unsynced.remove(id); // before force: a write landing meanwhile marks it again
      FileChannel ch = channels.get(id);
      if (ch != null) {
        try {
          ch.force(false);
        } catch (java.nio.channels.ClosedChannelException e) {
          if (channels.get(id) == ch) {
            throw e;
          }
          // The cleaner deleted the segment meanwhile: nothing refers to it, nothing to sync.
        }
      }
    }
  }

  /** Deletes segment {@code id}; the caller guarantees nothing refers to it any more. */
  void delete(long id) throws IOException {
    synchronized (this) {
      if (id == currentId) {
        currentId = -1; // never delete the file being appended to while it stays current
      }
    }
    FileChannel ch = channels.remove(id);
    if (ch != null) {
      ch.close();
    }
    headers.keySet().removeIf(k -> k.segment() == id);
    AtomicLong size = sizes.remove(id);
    if (size != null) {
      totalBytes.addAndGet(-size.get());
    }
    unsynced.remove(id);
    Files.deleteIfExists(path(id));
  }

  /** Stops appending to the current segment so that it can be cleaned. */
  synchronized void sealCurrent() throws IOException {
    drainAppendBuffer();
    currentId = -1;
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open directories; the segment's own fsync is then all we have.
    }
  }

  /** Closes the files as a crash would: what the append buffer holds is lost, like unsynced bytes. */
  void abandon() throws IOException {
    synchronized (this) {
      appendBuffer.clear();
    }
    close();
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    synchronized (this) {
      try {
        drainAppendBuffer();
      } catch (IOException e) {
        failure = e;
      }
    }
    for (FileChannel ch : channels.values()) {
      try {
        ch.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    channels.clear();
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "segments " + dir;
  }
}
