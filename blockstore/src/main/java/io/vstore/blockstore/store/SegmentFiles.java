package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.crypto.RecordSealer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;

/**
 * The datastore's append-only segment files: which exist, how large, which one takes new
 * records, and reads of them. Appends go through a {@link SegmentBlockWriter}, which gathers
 * them in aligned blocks written in the background; a sync writes the block being filled, so the
 * next record starts at the next aligned offset. Reads of records still in memory are served from
 * there, the rest through the page cache (or the caller's own I/O engine, {@link #nativeFile}).
 * A segment is never modified after its blocks are written; the cleaner deletes it whole once
 * nothing refers to it.
 *
 * <p>Every segment starts with a {@link SegmentHeader}. The headers are checked when the
 * datastore opens ({@link SegmentScan}); reads of a segment whose header failed fail, saying why.
 */
final class SegmentFiles implements AutoCloseable {
  static final int HEADER_BYTES = SegmentHeader.BYTES;
  /** The largest block of records written at once; a record is never larger. */
  static final int BLOCK_BYTES = SegmentBlockWriter.BLOCK_BYTES;
  /** The page size data is aligned to for reads: a volume block. */
  private static final int PAGE = RecordHeader.BLOCK;
  private static final byte[] PAD_ZEROS = new byte[PAGE];

  private final Path dir;
  private final UUID datastore;
  private final long maxSegmentBytes;
  private final ChannelOpener opener;
  /** Channels for reading; the page cache serves repeated reads. */
  private final Map<Long, FileChannel> channels = new ConcurrentHashMap<>();
  /** Segments appended to since they were last synced. */
  @GuardedBy("this")
  private final Set<Long> unsynced = new HashSet<>();
  /** Whether the current segment is in {@link #unsynced}: saves a set update per append. */
  @GuardedBy("this")
  private boolean currentUnsynced;
  private final Map<Long, AtomicLong> sizes = new ConcurrentHashMap<>();
  private final AtomicLong totalBytes = new AtomicLong();
  private final RecordHeaderCache headers = new RecordHeaderCache();
  /** Ids at or above this are not committed yet. */
  @GuardedBy("this")
  private long nextId;
  @GuardedBy("this")
  private long currentId = -1;
  @GuardedBy("this")
  private long currentEnd;
  /** Segments whose header failed its check when the datastore opened: reads of them fail, saying why. */
  private final Set<Long> badHeaders = ConcurrentHashMap.newKeySet();
  /**
   * Descriptors for reads issued by the caller's own I/O engine; null when the segments are not
   * plain files of this machine (an in-memory file system, or channels that simulate crashes).
   */
  private final SegmentFds fds;
  /** Seals new records and opens sealed ones; null in a datastore that is not encrypted. */
  private final RecordSealer sealer;
  /** Shares this object's lock. */
  private final SegmentBlockWriter blocks;

  /**
   * Opens the segments in {@code dir}, deleting those no commit can reference (see
   * {@link SegmentScan}): ids at or above {@code committedNextId}, and segments a crash left with
   * an incomplete header that hold no record ({@code holdsRecords} says which hold records).
   */
  SegmentFiles(Path dir, UUID datastore, long maxSegmentBytes, long committedNextId, ChannelOpener opener,
      LongPredicate holdsRecords) throws IOException {
    this(dir, datastore, maxSegmentBytes, committedNextId, opener, holdsRecords, null);
  }

  /** Opens the segments as above; with a {@code sealer}, records written are sealed with it and reads open them. */
  SegmentFiles(Path dir, UUID datastore, long maxSegmentBytes, long committedNextId, ChannelOpener opener,
      LongPredicate holdsRecords, RecordSealer sealer) throws IOException {
    this.dir = dir;
    this.sealer = sealer;
    this.opener = opener;
    this.datastore = datastore;
    this.maxSegmentBytes = maxSegmentBytes;
    this.nextId = committedNextId;
    this.fds = opener == ChannelOpener.DEFAULT && dir.getFileSystem() == FileSystems.getDefault()
        ? new SegmentFds() : null;
    Files.createDirectories(dir);
    this.blocks = new SegmentBlockWriter(this, dir, opener, this::path);
    SegmentScan.Result found = SegmentScan.recover(dir, datastore, committedNextId, opener, holdsRecords);
    found.sizes().forEach((id, size) -> {
      sizes.put(id, new AtomicLong(size));
      totalBytes.addAndGet(size);
    });
    badHeaders.addAll(found.badHeaders());
  }

  /** Returns the sealer of the datastore's records, or null when it is not encrypted. */
  RecordSealer sealer() {
    return sealer;
  }

  /** Returns the largest record header this datastore's records can have. */
  int maxHeaderBytes() {
    return sealer != null ? RecordHeader.SEALED_MAX_HEADER_BYTES : RecordHeader.MAX_HEADER_BYTES;
  }

  /** Returns the path of segment {@code id}'s file. */
  Path path(long id) {
    return dir.resolve(String.format("%016x.seg", id));
  }

  /** Returns the id the next new segment would get; committed at every flush. */
  synchronized long nextId() {
    return nextId;
  }

  /** Returns the sizes of all segments, by id. */
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
   * Appends the record {@code src} at the end of the current segment, starting a new segment when
   * it is full, and returns where it went. The bytes reach the file when their block is full or at
   * the next {@link #sync}; reads find them in memory until then.
   */
  RecordKey append(ByteBuffer src) throws IOException {
    return append(src, -1);
  }

  /**
   * Appends {@code src} as {@link #append(ByteBuffer)} does; when a few zero bytes in front of it
   * ({@link #alignmentPadding}) make its byte {@code dataStart} (-1: none) start a page, they go
   * first. Records use it to align their first stored chunk.
   */
  RecordKey append(ByteBuffer src, int dataStart) throws IOException {
    int n = src.remaining();
    if (n > BLOCK_BYTES - HEADER_BYTES) {
      throw new IllegalArgumentException("record of " + n + " bytes is larger than a segment block");
    }
    while (true) {
      SegmentBlockWriter.Block full = null;
      SegmentBlockWriter.Block target = null;
      int at = 0;
      int pad = 0;
      RecordKey key = null;
      synchronized (this) {
        blocks.checkNoFailure(this);
        if (currentId < 0 || currentEnd > HEADER_BYTES && currentEnd + n > maxSegmentBytes) {
          // A segment takes at least one record, however small the configured size.
          full = seal();
          startSegment();
        } else if (blocks.overflows(n)) {
          full = seal();
        } else if (blocks.open() == null && !openBlock()) {
          blocks.awaitBlockWritten(this);
          continue;
        } else {
          pad = alignmentPadding(currentEnd, dataStart, n);
          if (blocks.overflows(pad + n)) {
            full = seal();
          } else {
            // Reserve under the lock, copy outside it: eight NBD workers appending 1 MiB records
            // spent their time spinning on this lock while one of them copied.
            key = new RecordKey(currentId, currentEnd + pad);
            target = blocks.open();
            at = blocks.reserve(pad + n) + pad;
            grow(pad + n);
          }
        }
      }
      if (target != null) {
        try {
          target.buffer.put(at - pad, PAD_ZEROS, 0, pad); // buffers are reused: no stale bytes in the file
          target.buffer.put(at, src, src.position(), n);
          src.position(src.limit());
        } finally {
          blocks.copied(target);
        }
        return key;
      }
      // Written by the block writers: the appender, often the only thread writing, goes on
      // filling the next block meanwhile (a 2 MiB direct write takes about 2 ms).
      if (full != null) {
        blocks.writeInBackground(full);
      }
    }
  }

  /**
   * Returns how many zero bytes to put before a record of {@code n} bytes appended at file offset
   * {@code end} whose first stored chunk starts {@code dataStart} bytes into it (-1: its first
   * chunk is compressed), so that the chunk starts on a page boundary: a read of one of its blocks
   * then touches one page, not two. Only when that costs at most a sixteenth of the record: a
   * record of 16 blocks or more is always aligned, one of a single block only when it happens to
   * be cheap (aligning every 4 KiB record would nearly double the space random writes take).
   */
  static int alignmentPadding(long end, int dataStart, int n) {
    if (dataStart < 0) {
      return 0;
    }
    int pad = (int) Math.floorMod(-(end + dataStart), (long) PAGE);
    return pad <= n / 16 && n + pad <= BLOCK_BYTES - HEADER_BYTES ? pad : 0;
  }

  /** Adds {@code n} bytes to the current segment. */
  @GuardedBy("this")
  private void grow(long n) {
    currentEnd += n;
    sizes.get(currentId).addAndGet(n);
    totalBytes.addAndGet(n);
    if (!currentUnsynced) {
      unsynced.add(currentId);
      currentUnsynced = true;
    }
  }

  /**
   * Starts the block that takes the next records, at the next aligned offset of the current
   * segment, the segment header first in a new segment; returns false when every buffer is in use.
   */
  @GuardedBy("this")
  private boolean openBlock() {
    boolean first = currentEnd == 0;
    if (!blocks.openBlock(currentId, currentEnd, first ? SegmentHeader.of(currentId, datastore) : null)) {
      return false;
    }
    if (first) {
      grow(HEADER_BYTES);
    }
    return true;
  }

  /**
   * Closes the block being filled and returns it for the caller to write (null when there is
   * none); the next record starts at the next aligned offset.
   */
  @GuardedBy("this")
  private SegmentBlockWriter.Block seal() {
    SegmentBlockWriter.Block b = blocks.seal();
    if (b != null && b.segment == currentId) {
      grow(b.end - currentEnd);
    }
    return b;
  }

  /** Creates the next segment's file and makes it current; its header goes into its first block. */
  @GuardedBy("this")
  private void startSegment() throws IOException {
    long id = nextId++;
    blocks.create(id);
    sizes.put(id, new AtomicLong());
    currentId = id;
    currentEnd = 0;
    currentUnsynced = false;
    // The directory entry must be durable too, or a synced segment could vanish after a crash.
    SegmentScan.syncDirectory(dir);
  }

  /** Reads exactly {@code dst.remaining()} bytes at {@code offset} of segment {@code segment}. */
  void read(long segment, long offset, ByteBuffer dst) throws IOException {
    if (blocks.read(segment, offset, dst, true)) {
      return;
    }
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

  /** Returns whether {@link #nativeFile} can give descriptors for reads by the caller's own I/O engine. */
  boolean nativeReads() {
    return fds != null;
  }

  /**
   * Returns a counted reference on segment {@code segment}'s read descriptor, which stays valid
   * (even if the segment is deleted) until released. Only when {@link #nativeReads()}.
   */
  SegmentFds.Handle nativeFile(long segment) throws IOException {
    recheckBadHeader(segment);
    return fds.acquire(segment, this::path); // the path is formatted only when the file is opened
  }

  /** Returns whether the bytes at {@code offset} of {@code segment} are still in memory, not in the file. */
  boolean inMemory(long segment, long offset) {
    return blocks.inMemory(segment, offset);
  }

  /** Reads up to {@code dst.remaining()} bytes; returns how many (fewer only at the end of the file). */
  int readSome(long segment, long offset, ByteBuffer dst) throws IOException {
    int before = dst.position();
    if (blocks.read(segment, offset, dst, false)) {
      return dst.position() - before;
    }
    return readFile(channel(segment), offset, dst);
  }

  /** Reads from {@code ch} at {@code offset} until {@code dst} is full or the file ends; returns the bytes read. */
  private static int readFile(FileChannel ch, long offset, ByteBuffer dst) throws IOException {
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
    recheckBadHeader(segment);
    return openChannel(segment);
  }

  /** Returns the read channel of {@code segment}, opening it if needed; its header is not checked here. */
  private FileChannel openChannel(long segment) throws IOException {
    try {
      return channels.computeIfAbsent(segment, id -> {
        try {
          return opener.open(path(id), Set.of(StandardOpenOption.READ));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      if (e.getCause() instanceof NoSuchFileException) {
        throw new CorruptDataException("bad segment: " + path(segment) + " is missing");
      }
      throw e.getCause();
    }
  }

  /** Validates segment {@code id}'s header, as it is now in its file (or in memory, not yet written). */
  void checkHeader(long id) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    if (!blocks.read(id, 0, header, false)) {
      readFile(openChannel(id), 0, header);
    }
    SegmentHeader.check(header.flip(), path(id), id, datastore);
  }

  /** Re-checks the header of {@code segment} if it failed at open; throws why it still fails. */
  private void recheckBadHeader(long segment) throws IOException {
    if (!badHeaders.isEmpty() && badHeaders.contains(segment)) {
      checkHeader(segment);
      badHeaders.remove(segment); // repaired since the datastore opened
    }
  }

  /** Returns the cached header of the record at {@code key}, or null. */
  RecordHeader cachedHeader(RecordKey key) {
    return headers.get(key);
  }

  /** Caches the header of the record at {@code key}. */
  void cacheHeader(RecordKey key, RecordHeader header) {
    headers.put(key, header);
  }

  /** Makes every completed append durable. */
  void sync() throws IOException {
    SegmentBlockWriter.Block full;
    Long[] toSync;
    synchronized (this) {
      full = seal();
      // Taken with the block: appends from here on mark their segment again for the next sync.
      toSync = unsynced.toArray(Long[]::new);
      unsynced.clear();
      currentUnsynced = false;
    }
    if (full != null) {
      // Not on this thread: an interrupt landing in its write would close the segment's channel.
      blocks.writeInBackground(full);
    }
    blocks.awaitWritten(this);
    for (Long id : toSync) {
      FileChannel ch = blocks.writer(id);
      if (ch == null) {
        continue; // deleted by the cleaner meanwhile: nothing refers to it, nothing to sync
      }
      try {
        ch.force(false);
      } catch (ClosedChannelException e) {
        if (blocks.writer(id) == ch) {
          remark(id);
          throw e;
        }
        continue; // deleted meanwhile, as above
      } catch (IOException e) {
        remark(id);
        throw e;
      }
      retireWriter(id);
    }
  }

  /** Marks {@code id} unsynced again after a failed sync. */
  private synchronized void remark(long id) {
    unsynced.add(id);
  }

  /** Closes the writer of a synced segment that takes no more appends. */
  private void retireWriter(long id) throws IOException {
    FileChannel ch;
    synchronized (this) {
      if (id == currentId || unsynced.contains(id) || blocks.writing(id)) { // still current, or appended to since
        return;
      }
      ch = blocks.removeWriter(id);
    }
    if (ch != null) {
      ch.close();
    }
  }

  /** Deletes segment {@code id}; the caller guarantees nothing refers to it any more. */
  void delete(long id) throws IOException {
    SegmentBlockWriter.Block full = null;
    synchronized (this) {
      if (id == currentId) {
        full = seal();
        currentId = -1; // never delete the file being appended to while it stays current
      }
    }
    if (full != null) {
      blocks.write(full);
    }
    for (FileChannel ch : new FileChannel[] {channels.remove(id), blocks.removeWriter(id)}) {
      if (ch != null) {
        ch.close();
      }
    }
    if (fds != null) {
      fds.retire(id); // reads in flight keep the file until they finish
    }
    headers.forgetSegment(id);
    badHeaders.remove(id);
    AtomicLong size = sizes.remove(id);
    if (size != null) {
      totalBytes.addAndGet(-size.get());
    }
    synchronized (this) {
      unsynced.remove(id);
    }
    Files.deleteIfExists(path(id));
  }

  /** Stops appending to the current segment so that it can be cleaned. */
  void sealCurrent() throws IOException {
    SegmentBlockWriter.Block full;
    synchronized (this) {
      full = seal();
      currentId = -1;
    }
    if (full != null) {
      blocks.write(full);
    }
  }

  /** Closes the files as a crash would: what is still in memory is lost, like unsynced bytes. */
  void abandon() throws IOException {
    synchronized (this) {
      blocks.dropOpen();
    }
    closeChannels(null);
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    try {
      SegmentBlockWriter.Block full;
      synchronized (this) {
        full = seal();
      }
      if (full != null) {
        blocks.write(full);
      }
    } catch (IOException e) {
      failure = e;
    }
    closeChannels(failure);
  }

  /** Waits for the block writes in flight, then closes every channel. */
  private void closeChannels(IOException earlier) throws IOException {
    IOException failure = blocks.close(earlier);
    if (fds != null) {
      fds.retireAll();
    }
    failure = SegmentBlockWriter.closeAll(channels.values(), failure);
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
