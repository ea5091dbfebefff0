package io.vstore.blockstore.store;

import com.sun.nio.file.ExtendedOpenOption;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The datastore's append-only segment files. Appended records are gathered in aligned memory
 * blocks of up to {@link #BLOCK_BYTES}; a full block is written with one positional write, with
 * {@code O_DIRECT} where the file system allows it, by the writer that filled it and outside the
 * lock, so that several blocks are in flight at once. Going around the page cache matters: on
 * the virtual disks vstore runs on, buffered writeback of new data sustains a third of what the
 * device takes directly (measured: 316 MiB/s buffered against 1068 MiB/s direct, 1 MiB writes),
 * and QEMU's {@code cache=none} does the same.
 *
 * <p>Every block starts at an aligned file offset and is written once, padded with zeros to the
 * alignment; a sync writes the block being filled and the next record starts at the next aligned
 * offset. No file page is ever written twice, so reads through the page cache (which keep repeated
 * reads fast) never see a stale page. Reads of records still in memory are served from there.
 * A segment is never modified after its blocks are written; the cleaner deletes it whole once
 * nothing refers to it.
 *
 * <p>Every segment starts with a {@link SegmentHeader}. The headers are checked when the
 * datastore opens ({@link SegmentScan}); reads of a segment whose header failed fail, saying why.
 */
final class SegmentFiles implements AutoCloseable {
  static final int HEADER_BYTES = SegmentHeader.BYTES;
  /** The largest block of records written at once; a record is never larger. */
  static final int BLOCK_BYTES = 2 << 20;
  /** Blocks that may be filled or in flight at once. */
  private static final int BLOCK_POOL = 4;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16);

  private final Path dir;
  private final UUID datastore;
  private final long maxSegmentBytes;
  private final ChannelOpener opener;
  /** Write offsets and lengths are multiples of this (at least the page size). */
  private final int alignment;
  /** Channels for reading; the page cache serves repeated reads. */
  private final Map<Long, FileChannel> channels = new ConcurrentHashMap<>();
  /** Channels for writing, direct where possible, until the segment is synced and no longer current. */
  private final Map<Long, FileChannel> writers = new ConcurrentHashMap<>();
  /** Segments appended to since they were last synced; guarded by this. */
  private final Set<Long> unsynced = new java.util.HashSet<>();
  /** Whether the current segment is in {@link #unsynced}: saves a set update per append. */
  private boolean currentUnsynced; // guarded by this
  private final Map<Long, AtomicLong> sizes = new ConcurrentHashMap<>();
  private final AtomicLong totalBytes = new AtomicLong();
  /** Record headers recently read; records never change once written, so entries never go stale. */
  private final Map<RecordKey, RecordHeader> headers = new ConcurrentHashMap<>();
  private static final int HEADER_CACHE_ENTRIES = 1 << 16;
  /** Ids at or above this are not committed yet; guarded by this. */
  private long nextId;
  private long currentId = -1; // guarded by this
  private long currentEnd; // guarded by this
  /** Cleared when a file system refuses O_DIRECT; writes then go through the page cache. */
  private volatile boolean direct = true;
  /** Segments whose header failed its check when the datastore opened: reads of them fail, saying why. */
  private final Set<Long> badHeaders = ConcurrentHashMap.newKeySet();
  /**
   * Descriptors for reads issued by the caller's own I/O engine; null when the segments are not
   * plain files of this machine (an in-memory file system, or channels that simulate crashes).
   */
  private final SegmentFds fds;

  /** Records gathered for one write: where they go and what they hold. */
  private static final class Block {
    final ByteBuffer buffer;
    final long segment;
    final long fileOffset;
    int used;
    /** Appends that reserved space here and are still copying their bytes in. */
    int copying;

    Block(ByteBuffer buffer, long segment, long fileOffset) {
      this.buffer = buffer;
      this.segment = segment;
      this.fileOffset = fileOffset;
    }

    boolean holds(long segmentId, long offset) {
      return segment == segmentId && offset >= fileOffset && offset < fileOffset + used;
    }
  }

  private Block open; // guarded by this
  private final java.util.List<Block> inFlight = new java.util.ArrayList<>(); // guarded by this
  private final java.util.List<ByteBuffer> freeBuffers = new java.util.ArrayList<>(); // guarded by this
  private int buffersMade; // guarded by this
  /** Pairs of (segment, first offset held in memory) for the blocks not yet in their files. */
  private volatile long[] inMemory = new long[0];
  /** The first failed block write; every later sync fails with it. Guarded by this. */
  private IOException writeFailure;
  /** Write full blocks in the background; two, so that the device sees more than one at a time. */
  private final java.util.concurrent.ExecutorService blockWriters = java.util.concurrent.Executors.newFixedThreadPool(2,
      Thread.ofPlatform().daemon().name("vstore-segment-writer-", 0).factory());

  /**
   * Opens the segments in {@code dir}, deleting those no commit can reference (see
   * {@link SegmentScan}): ids at or above {@code committedNextId}, and segments a crash left with
   * an incomplete header that hold no record ({@code holdsRecords} says which hold records).
   */
  SegmentFiles(Path dir, UUID datastore, long maxSegmentBytes, long committedNextId, ChannelOpener opener,
      java.util.function.LongPredicate holdsRecords) throws IOException {
    this.dir = dir;
    this.opener = opener;
    this.datastore = datastore;
    this.maxSegmentBytes = maxSegmentBytes;
    this.nextId = committedNextId;
    this.fds = opener == ChannelOpener.DEFAULT && dir.getFileSystem() == java.nio.file.FileSystems.getDefault()
        ? new SegmentFds() : null;
    Files.createDirectories(dir);
    this.alignment = alignmentOf(dir);
    SegmentScan.Result found = SegmentScan.recover(dir, datastore, committedNextId, opener, holdsRecords);
    found.sizes().forEach((id, size) -> {
      sizes.put(id, new AtomicLong(size));
      totalBytes.addAndGet(size);
    });
    badHeaders.addAll(found.badHeaders());
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

  private static int alignmentOf(Path dir) {
    long block = 4096;
    try {
      block = Math.max(block, Files.getFileStore(dir).getBlockSize());
    } catch (IOException | UnsupportedOperationException e) {
      // Unknown: the page size is what O_DIRECT asks of the usual file systems.
    }
    return (int) Math.min(block, 1 << 16);
  }

  private long alignUp(long offset) {
    return (offset + alignment - 1) / alignment * alignment;
  }

  /**
   * Appends {@code src} at the end of the current segment, starting a new segment when it is full,
   * and returns where it went. The bytes reach the file when their block is full or at the next
   * {@link #sync}; reads find them in memory until then.
   */
  RecordKey append(ByteBuffer src) throws IOException {
    int n = src.remaining();
    if (n > BLOCK_BYTES - HEADER_BYTES) {
      throw new IllegalArgumentException("record of " + n + " bytes is larger than a segment block");
    }
    while (true) {
      Block full = null;
      Block target = null;
      int at = 0;
      RecordKey key = null;
      synchronized (this) {
        if (writeFailure != null) {
          throw new IOException("cannot append to " + this + ": an earlier segment write failed", writeFailure);
        }
        if (currentId < 0 || currentEnd > HEADER_BYTES && currentEnd + n > maxSegmentBytes) {
          // A segment takes at least one record, however small the configured size.
          full = seal();
          startSegment();
        } else if (open != null && open.used + n > BLOCK_BYTES) {
          full = seal();
        } else if (open == null && !openBlock()) {
          awaitBlockWritten();
          continue;
        } else {
          // Reserve under the lock, copy outside it: eight NBD workers appending 1 MiB records
          // spent their time spinning on this lock while one of them copied.
          key = new RecordKey(currentId, currentEnd);
          target = open;
          at = target.used;
          target.used += n;
          target.copying++;
          grow(n);
        }
      }
      if (target != null) {
        try {
          target.buffer.put(at, src, src.position(), n);
          src.position(src.limit());
        } finally {
          copied(target);
        }
        return key;
      }
      // Written by the block writers: the appender, often the only thread writing, goes on
      // filling the next block meanwhile (a 2 MiB direct write takes about 2 ms).
      if (full != null) {
        writeInBackground(full);
      }
    }
  }

  /** Adds {@code n} bytes to the current segment; the caller holds this lock. */
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
   * The caller holds this lock.
   */
  private boolean openBlock() {
    ByteBuffer buffer;
    if (!freeBuffers.isEmpty()) {
      buffer = freeBuffers.removeLast();
    } else if (buffersMade < BLOCK_POOL) {
      buffer = ByteBuffer.allocateDirect(BLOCK_BYTES + alignment).alignedSlice(alignment);
      buffersMade++;
    } else {
      return false;
    }
    if (currentEnd == 0) {
      open = new Block(buffer, currentId, 0);
      open.buffer.put(0, SegmentHeader.of(currentId, datastore), 0, HEADER_BYTES);
      open.used = HEADER_BYTES;
      grow(HEADER_BYTES);
    } else {
      open = new Block(buffer, currentId, currentEnd);
    }
    publishInMemory();
    return true;
  }

  /**
   * Closes the block being filled and returns it for the caller to write (null when there is
   * none); the next record starts at the next aligned offset. The caller holds this lock.
   */
  private Block seal() {
    Block b = open;
    open = null;
    if (b == null) {
      return null;
    }
    if (b.used == 0) {
      freeBuffers.add(b.buffer);
      publishInMemory();
      return null;
    }
    int padded = (int) alignUp(b.used);
    b.buffer.put(b.used, ZEROS, 0, padded - b.used);
    if (b.segment == currentId) {
      grow(b.fileOffset + padded - currentEnd);
    }
    inFlight.add(b);
    return b;
  }

  /** Hands a sealed block to the block writers; a failure is recorded for the next sync and append. */
  private void writeInBackground(Block b) {
    blockWriters.execute(() -> {
      try {
        write(b);
      } catch (IOException e) {
        // write() recorded it.
      }
    });
  }

  /** Marks one copy into {@code b} done. */
  private synchronized void copied(Block b) {
    if (--b.copying == 0) {
      notifyAll();
    }
  }

  /** Writes a sealed block to its segment, once every copy into it is done, then frees its buffer. */
  private void write(Block b) throws IOException {
    synchronized (this) {
      boolean interrupted = false;
      while (b.copying > 0) {
        try {
          wait(); // never given up: the block must be written and freed, or syncs would wait forever
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    IOException failure = null;
    try {
      writeFully(writer(b.segment), b.buffer.duplicate().position(0).limit((int) alignUp(b.used)), b.fileOffset,
          path(b.segment));
    } catch (IOException e) {
      failure = e;
    }
    synchronized (this) {
      inFlight.remove(b);
      freeBuffers.add(b.buffer);
      if (failure != null && writeFailure == null) {
        writeFailure = failure;
      }
      publishInMemory();
      notifyAll();
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Waits for a block write (or a copy into a block) to finish; the caller holds this lock. */
  private void awaitBlockWritten() throws IOException {
    try {
      wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting to append to " + this);
    }
  }

  private void publishInMemory() {
    long[] pairs = new long[2 * (inFlight.size() + (open == null ? 0 : 1))];
    int i = 0;
    for (Block b : inFlight) {
      pairs[i++] = b.segment;
      pairs[i++] = b.fileOffset;
    }
    if (open != null) {
      pairs[i++] = open.segment;
      pairs[i] = open.fileOffset;
    }
    inMemory = pairs;
  }

  /**
   * Copies bytes at {@code offset} of {@code segment} that are still in memory into {@code dst};
   * returns false when they are in the file. The unlocked check is safe: a record is appended
   * before anything can point at it, and its block leaves memory only after it is in the file.
   */
  private boolean readInMemory(long segment, long offset, ByteBuffer dst, boolean exact) throws IOException {
    long[] pairs = inMemory;
    boolean maybe = false;
    for (int i = 0; i < pairs.length; i += 2) {
      maybe |= pairs[i] == segment && offset + dst.remaining() > pairs[i + 1];
    }
    if (!maybe) {
      return false;
    }
    synchronized (this) {
      Block b = open != null && open.holds(segment, offset) ? open : null;
      for (int i = 0; b == null && i < inFlight.size(); i++) {
        b = inFlight.get(i).holds(segment, offset) ? inFlight.get(i) : null;
      }
      if (b == null) {
        return false;
      }
      int at = (int) (offset - b.fileOffset);
      int n = Math.min(b.used - at, dst.remaining());
      if (exact && n < dst.remaining()) {
        throw new CorruptDataException("bad map: a record at offset " + offset + " of " + path(segment)
            + " extends past the end of the data appended");
      }
      dst.put(dst.position(), b.buffer, at, n);
      dst.position(dst.position() + n);
      return true;
    }
  }

  /** Creates the next segment's file and makes it current; its header goes into its first block. */
  private void startSegment() throws IOException {
    long id = nextId++;
    openWriter(id);
    sizes.put(id, new AtomicLong());
    currentId = id;
    currentEnd = 0;
    currentUnsynced = false;
    // The directory entry must be durable too, or a synced segment could vanish after a crash.
    syncDirectory();
  }

  private void openWriter(long id) throws IOException {
    Path p = path(id);
    Set<OpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
    FileChannel ch = null;
    if (direct) {
      try {
        Set<OpenOption> directly = new java.util.HashSet<>(options);
        directly.add(ExtendedOpenOption.DIRECT);
        ch = opener.open(p, directly);
      } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
        direct = false;
        System.getLogger("io.vstore.blockstore").log(System.Logger.Level.INFO,
            "{0}: the file system refuses O_DIRECT ({1}); writing through the page cache", this, e.toString());
      }
    }
    if (ch == null) {
      ch = opener.open(p, options);
    }
    writers.put(id, ch);
  }

  private FileChannel writer(long segment) throws IOException {
    FileChannel ch = writers.get(segment);
    if (ch == null) {
      throw new IOException("segment " + path(segment) + " is no longer open for writing");
    }
    return ch;
  }

  private static void writeFully(FileChannel ch, ByteBuffer src, long position, Path p) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += ch.write(src, pos);
    }
  }

  /** Reads exactly {@code dst.remaining()} bytes at {@code offset} of segment {@code segment}. */
  void read(long segment, long offset, ByteBuffer dst) throws IOException {
    if (readInMemory(segment, offset, dst, true)) {
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
    long[] pairs = inMemory;
    boolean maybe = false;
    for (int i = 0; i < pairs.length; i += 2) {
      maybe |= pairs[i] == segment && offset >= pairs[i + 1];
    }
    if (!maybe) {
      return false;
    }
    synchronized (this) {
      if (open != null && open.holds(segment, offset)) {
        return true;
      }
      for (Block b : inFlight) {
        if (b.holds(segment, offset)) {
          return true;
        }
      }
      return false;
    }
  }

  /** Reads up to {@code dst.remaining()} bytes; returns how many (fewer only at the end of the file). */
  int readSome(long segment, long offset, ByteBuffer dst) throws IOException {
    int before = dst.position();
    if (readInMemory(segment, offset, dst, false)) {
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
      if (e.getCause() instanceof java.nio.file.NoSuchFileException) {
        throw new CorruptDataException("bad segment: " + path(segment) + " is missing");
      }
      throw e.getCause();
    }
  }

  /** Validates segment {@code id}'s header, as it is now in its file (or in memory, not yet written). */
  void checkHeader(long id) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
    if (!readInMemory(id, 0, header, false)) {
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
    if (headers.size() >= HEADER_CACHE_ENTRIES) {
      headers.clear(); // crude but bounded; hot headers come back on their next read
    }
    headers.put(key, header);
  }

  /** Makes every completed append durable. */
  void sync() throws IOException {
    Block full;
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
      writeInBackground(full);
    }
    synchronized (this) {
      boolean interrupted = false;
      while (!inFlight.isEmpty()) {
        try {
          wait(); // not given up on an interrupt: a failed sync fails the datastore until reopened
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      if (writeFailure != null) {
        throw new IOException("cannot sync " + this + ": a segment write failed", writeFailure);
      }
    }
    for (Long id : toSync) {
      FileChannel ch = writers.get(id);
      if (ch == null) {
        continue; // deleted by the cleaner meanwhile: nothing refers to it, nothing to sync
      }
      try {
        ch.force(false);
      } catch (java.nio.channels.ClosedChannelException e) {
        if (writers.get(id) == ch) {
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
      if (id == currentId || unsynced.contains(id)) { // still current, or appended to since
        return;
      }
      for (Block b : inFlight) {
        if (b.segment == id) {
          return;
        }
      }
      ch = writers.remove(id);
    }
    if (ch != null) {
      ch.close();
    }
  }

  /** Deletes segment {@code id}; the caller guarantees nothing refers to it any more. */
  void delete(long id) throws IOException {
    Block full = null;
    synchronized (this) {
      if (id == currentId) {
        full = seal();
        currentId = -1; // never delete the file being appended to while it stays current
      }
    }
    if (full != null) {
      write(full);
    }
    for (FileChannel ch : new FileChannel[] {channels.remove(id), writers.remove(id)}) {
      if (ch != null) {
        ch.close();
      }
    }
    if (fds != null) {
      fds.retire(id); // reads in flight keep the file until they finish
    }
    headers.keySet().removeIf(k -> k.segment() == id);
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
    Block full;
    synchronized (this) {
      full = seal();
      currentId = -1;
    }
    if (full != null) {
      write(full);
    }
  }

  private void syncDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open directories; the segment's own fsync is then all we have.
    }
  }

  /** Closes the files as a crash would: what is still in memory is lost, like unsynced bytes. */
  void abandon() throws IOException {
    synchronized (this) {
      if (open != null) {
        freeBuffers.add(open.buffer);
        open = null;
      }
    }
    closeChannels(null);
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    try {
      Block full;
      synchronized (this) {
        full = seal();
      }
      if (full != null) {
        write(full);
      }
    } catch (IOException e) {
      failure = e;
    }
    closeChannels(failure);
  }

  /** Waits for the block writes in flight, then closes every channel. */
  private void closeChannels(IOException earlier) throws IOException {
    IOException failure = earlier;
    blockWriters.close(); // waits for the queued writes
    synchronized (this) {
      while (!inFlight.isEmpty()) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    if (fds != null) {
      fds.retireAll();
    }
    for (Map<Long, FileChannel> m : java.util.List.of(channels, writers)) {
      for (FileChannel ch : m.values()) {
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
      m.clear();
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "segments " + dir;
  }
}
