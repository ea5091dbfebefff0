package io.vstore.blockstore.store;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.sun.nio.file.ExtendedOpenOption;
import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongFunction;

/**
 * Writes segment files in aligned blocks of up to {@link #BLOCK_BYTES}: appended records are
 * gathered in aligned memory buffers; a full block is written with one positional write, with
 * {@code O_DIRECT} where the file system allows it, by two background writers, so that several
 * blocks are in flight at once while the appender fills the next. Going around the page cache
 * matters: on the virtual disks vstore runs on, buffered writeback of new data sustains a third
 * of what the device takes directly (measured: 316 MiB/s buffered against 1068 MiB/s direct,
 * 1 MiB writes), and QEMU's {@code cache=none} does the same.
 *
 * <p>Every block starts at an aligned file offset and is written once, padded with zeros to the
 * alignment. No file page is ever written twice, so reads through the page cache never see a
 * stale page. Bytes not yet in their file are read from the buffers.
 *
 * <p>It shares its owner's lock ({@code lock}): an append reserves space in the open block and
 * grows its segment in one critical section. Methods that say so must be called holding it.
 */
final class SegmentBlockWriter {
  /** The largest block of records written at once; a record is never larger. */
  static final int BLOCK_BYTES = 2 << 20;
  /** Blocks that may be filled or in flight at once. */
  private static final int BLOCK_POOL = 4;
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 16);
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");

  /** Records gathered for one write: where they go and what they hold. */
  final class Block {
    final ByteBuffer buffer;
    final long segment;
    final long fileOffset;
    @GuardedBy("SegmentBlockWriter.this.lock")
    int used;
    /** Appends that reserved space here and are still copying their bytes in. */
    @GuardedBy("SegmentBlockWriter.this.lock")
    int copying;
    /** The file offset just past the block once sealed (padded to the alignment). */
    @GuardedBy("SegmentBlockWriter.this.lock")
    long end;

    /** Creates an empty block of {@code buffer} for {@code segment} from {@code fileOffset} on. */
    Block(ByteBuffer buffer, long segment, long fileOffset) {
      this.buffer = buffer;
      this.segment = segment;
      this.fileOffset = fileOffset;
    }

    /** Returns whether the block holds the byte at {@code offset} of segment {@code segmentId}; the caller holds the lock. */
    boolean holds(long segmentId, long offset) {
      return segment == segmentId && offset >= fileOffset && offset < fileOffset + used;
    }
  }

  private final Object lock;
  private final ChannelOpener opener;
  private final LongFunction<Path> paths;
  /** Write offsets and lengths are multiples of this (at least the page size). */
  private final int alignment;
  /** Channels for writing, direct where possible, until the segment is synced and no longer current. */
  private final Map<Long, FileChannel> writers = new ConcurrentHashMap<>();
  /** Cleared when a file system refuses O_DIRECT; writes then go through the page cache. */
  private volatile boolean direct = true;
  @GuardedBy("lock")
  private Block open;
  @GuardedBy("lock")
  private final List<Block> inFlight = new ArrayList<>();
  @GuardedBy("lock")
  private final List<ByteBuffer> freeBuffers = new ArrayList<>();
  @GuardedBy("lock")
  private int buffersMade;
  /** Pairs of (segment, first offset held in memory) for the blocks not yet in their files. */
  private volatile long[] inMemory = new long[0];
  /** The first failed block write; every later sync and append fails with it. */
  @GuardedBy("lock")
  private IOException writeFailure;
  /** Write full blocks in the background; two, so that the device sees more than one at a time. */
  private final ExecutorService blockWriters = Executors.newFixedThreadPool(2,
      Thread.ofPlatform().daemon().name("vstore-segment-writer-", 0).factory());

  /**
   * Creates the writer of the segments in {@code dir}, named by {@code paths}, opened with
   * {@code opener}; {@code lock} is its owner's lock, which it shares.
   */
  SegmentBlockWriter(Object lock, Path dir, ChannelOpener opener, LongFunction<Path> paths) {
    this.lock = lock;
    this.opener = opener;
    this.paths = paths;
    this.alignment = alignmentOf(dir);
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

  /** Creates (or empties) segment {@code id}'s file and keeps it open for writing. */
  void create(long id) throws IOException {
    Path p = paths.apply(id);
    Set<OpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
    FileChannel ch = null;
    if (direct) {
      try {
        Set<OpenOption> directly = new HashSet<>(options);
        directly.add(ExtendedOpenOption.DIRECT);
        ch = opener.open(p, directly);
      } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
        direct = false;
        LOG.log(System.Logger.Level.INFO, "{0}: the file system refuses O_DIRECT ({1}); writing through the page cache",
            p.getParent(), e.toString());
      }
    }
    if (ch == null) {
      ch = opener.open(p, options);
    }
    writers.put(id, ch);
  }

  /** Returns segment {@code id}'s write channel, or null once it is retired. */
  FileChannel writer(long id) {
    return writers.get(id);
  }

  /** Removes and returns segment {@code id}'s write channel (null if none); the caller closes it. */
  FileChannel removeWriter(long id) {
    return writers.remove(id);
  }

  /** Throws the first failed block write, if any; the caller holds the lock. */
  @GuardedBy("lock")
  void checkNoFailure(Object owner) throws IOException {
    if (writeFailure != null) {
      throw new IOException("cannot append to " + owner + ": an earlier segment write failed", writeFailure);
    }
  }

  /** Returns the block being filled, or null; the caller holds the lock. */
  @GuardedBy("lock")
  Block open() {
    return open;
  }

  /** Returns whether a record of {@code n} bytes overflows the block being filled; the caller holds the lock. */
  @GuardedBy("lock")
  boolean overflows(int n) {
    return open != null && open.used + n > BLOCK_BYTES;
  }

  /** Reserves {@code n} bytes in the open block for a copy, returning their offset in it; the caller holds the lock. */
  @GuardedBy("lock")
  int reserve(int n) {
    int at = open.used;
    open.used += n;
    open.copying++;
    return at;
  }

  /**
   * Starts the block that takes the next records, at {@code fileOffset} of {@code segment}, with
   * {@code first} (a segment header, or null) at its start; returns false when every buffer is in
   * use. The caller holds the lock.
   */
  @GuardedBy("lock")
  boolean openBlock(long segment, long fileOffset, ByteBuffer first) {
    ByteBuffer buffer;
    if (!freeBuffers.isEmpty()) {
      buffer = freeBuffers.removeLast();
    } else if (buffersMade < BLOCK_POOL) {
      buffer = ByteBuffer.allocateDirect(BLOCK_BYTES + alignment).alignedSlice(alignment);
      buffersMade++;
    } else {
      return false;
    }
    open = new Block(buffer, segment, fileOffset);
    if (first != null) {
      open.used = first.remaining();
      buffer.put(0, first, first.position(), open.used);
    }
    publishInMemory();
    return true;
  }

  /**
   * Closes the block being filled and returns it for the caller to write (null when there is
   * none); its {@link Block#end} is where the segment's next record starts. The caller holds the lock.
   */
  @GuardedBy("lock")
  Block seal() {
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
    b.end = b.fileOffset + padded;
    inFlight.add(b);
    return b;
  }

  /** Drops the block being filled, as a crash would; the caller holds the lock. */
  @GuardedBy("lock")
  void dropOpen() {
    if (open != null) {
      freeBuffers.add(open.buffer);
      open = null;
    }
  }

  /** Returns whether a sealed block of {@code segment} is not yet written; the caller holds the lock. */
  @GuardedBy("lock")
  boolean writing(long segment) {
    for (Block b : inFlight) {
      if (b.segment == segment) {
        return true;
      }
    }
    return false;
  }

  /** Hands a sealed block to the block writers; a failure is recorded for the next sync and append. */
  void writeInBackground(Block b) {
    blockWriters.execute(() -> {
      try {
        write(b);
      } catch (IOException e) {
        // write() recorded it.
      }
    });
  }

  /** Marks one copy into {@code b} done. */
  void copied(Block b) {
    synchronized (lock) {
      if (--b.copying == 0) {
        lock.notifyAll();
      }
    }
  }

  /** Writes a sealed block to its segment, once every copy into it is done, then frees its buffer. */
  void write(Block b) throws IOException {
    int length;
    synchronized (lock) {
      boolean interrupted = false;
      while (b.copying > 0) {
        try {
          lock.wait(); // never given up: the block must be written and freed, or syncs would wait forever
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      length = (int) (b.end - b.fileOffset);
    }
    IOException failure = null;
    try {
      FileChannel ch = writers.get(b.segment);
      if (ch == null) {
        throw new IOException("segment " + paths.apply(b.segment) + " is no longer open for writing");
      }
      ByteBuffer src = b.buffer.duplicate().position(0).limit(length);
      long pos = b.fileOffset;
      while (src.hasRemaining()) {
        pos += ch.write(src, pos);
      }
    } catch (IOException e) {
      failure = e;
    }
    synchronized (lock) {
      inFlight.remove(b);
      freeBuffers.add(b.buffer);
      if (failure != null && writeFailure == null) {
        writeFailure = failure;
      }
      publishInMemory();
      lock.notifyAll();
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Waits for a block write (or a copy into a block) to finish; the caller holds the lock. */
  @GuardedBy("lock")
  void awaitBlockWritten(Object owner) throws IOException {
    try {
      lock.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting to append to " + owner);
    }
  }

  /**
   * Waits until every sealed block is written, not giving up on an interrupt (a failed sync fails
   * the datastore until it is reopened); throws if any block write failed.
   */
  void awaitWritten(Object owner) throws IOException {
    synchronized (lock) {
      boolean interrupted = false;
      while (!inFlight.isEmpty()) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      if (writeFailure != null) {
        throw new IOException("cannot sync " + owner + ": a segment write failed", writeFailure);
      }
    }
  }

  @GuardedBy("lock")
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
    synchronized (lock) {
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

  /**
   * Copies bytes at {@code offset} of {@code segment} that are still in memory into {@code dst}
   * ({@code exact}: all of {@code dst}, or it is an error); returns false when they are in the
   * file. The unlocked check is safe: a record is appended before anything can point at it, and
   * its block leaves memory only after it is in the file.
   */
  boolean read(long segment, long offset, ByteBuffer dst, boolean exact) throws IOException {
    long[] pairs = inMemory;
    boolean maybe = false;
    for (int i = 0; i < pairs.length; i += 2) {
      maybe |= pairs[i] == segment && offset + dst.remaining() > pairs[i + 1];
    }
    if (!maybe) {
      return false;
    }
    synchronized (lock) {
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
        throw new CorruptDataException("bad map: a record at offset " + offset + " of " + paths.apply(segment)
            + " extends past the end of the data appended");
      }
      dst.put(dst.position(), b.buffer, at, n);
      dst.position(dst.position() + n);
      return true;
    }
  }

  /**
   * Waits for the block writes queued and in flight, then closes every write channel; returns
   * {@code earlier} with any close failure added (or the first close failure).
   */
  IOException close(IOException earlier) {
    IOException failure = earlier;
    blockWriters.close(); // waits for the queued writes
    synchronized (lock) {
      while (!inFlight.isEmpty()) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    failure = closeAll(writers.values(), failure);
    writers.clear();
    return failure;
  }

  /** Closes every channel, returning {@code failure} with each close failure added (or the first of them). */
  static IOException closeAll(Iterable<FileChannel> channels, IOException failure) {
    for (FileChannel ch : channels) {
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
    return failure;
  }
}
