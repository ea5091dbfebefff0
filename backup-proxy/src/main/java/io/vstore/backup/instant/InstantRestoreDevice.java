package io.vstore.backup.instant;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ExtentList;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.StripedLocks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The device a guest uses during an instant restore: a writable volume (the <em>target</em>) laid
 * over a read-only <em>source</em> (a backup point), in units of the source's chunk size.
 *
 * <p>A unit is <em>present</em> once the volume is authoritative for it: the volume holds data in
 * it, or the {@link ZeroLog} says the guest zeroed it. A present unit is read from the volume, any
 * other from the source. Units only ever become present, so the presence of a unit, once seen, is
 * cached in a {@link UnitBitmap}.
 *
 * <ul>
 *   <li>Guest writes go to the volume. A write covering part of a unit that is not present first
 *       merges in the source's bytes of the whole unit, so that the volume is then authoritative
 *       for it.
 *   <li>A write of zeros, {@link #writeZeroes} and {@link #discard} would leave nothing in a thin
 *       volume, indistinguishable from a unit never restored; the units they touch are appended to
 *       the zero log (synced) before the volume is changed, and never refilled from the source.
 *   <li>The background copy ({@link #fill}) writes only units that are not present, and writes
 *       nothing for units whose source bytes are zeros (they read as zeros either way).
 *   <li>Guest writes and the copy are ordered per unit by striped locks; reads take no unit lock:
 *       a unit's source bytes and the bytes a merge or the copy writes for it are the same.
 * </ul>
 *
 * Once the copy has finished, {@link #detachSource()} drops the source and every call goes
 * straight to the volume, on the same handle (connected clients keep their connection). Closing
 * the device closes the source, the zero log and the volume.
 */
public final class InstantRestoreDevice implements BlockDevice {
  /** The smallest and largest unit: a volume block, and the largest chunk a repository allows. */
  static final int MIN_UNIT = 4096;
  static final int MAX_UNIT = 4 << 20;
  /** How many units of presence one allocation query of the volume answers at most. */
  private static final int PRESENCE_WINDOW = 4096;

  private final BlockDevice target;
  private final int unit;
  private final int shift;
  private final long size;
  private final long units;
  private final UnitBitmap present;
  private final StripedLocks locks = new StripedLocks(16);
  /** Readers hold it while they use the source; {@link #detachSource} takes it exclusively. */
  private final ReentrantReadWriteLock sourceLock = new ReentrantReadWriteLock();
  /** Guarded by sourceLock; null once detached. */
  private BlockDevice source;
  /** Guarded by sourceLock; null once detached. */
  private ZeroLog zeros;
  private volatile boolean closed;

  /**
   * Lays {@code target} over {@code source}; the device then owns all three.
   *
   * @param unitSize a power of two from 4 KiB to 4 MiB
   */
  InstantRestoreDevice(BlockDevice source, BlockDevice target, int unitSize, ZeroLog zeros) {
    if (Integer.bitCount(unitSize) != 1 || unitSize < MIN_UNIT || unitSize > MAX_UNIT) {
      throw new IllegalArgumentException("bad restore unit " + unitSize + ": a power of two from 4 KiB to 4 MiB");
    }
    if (source.size() != target.size()) {
      throw new IllegalArgumentException("source " + source + " has " + source.size() + " bytes, volume " + target
          + " " + target.size());
    }
    if (target.isReadOnly()) {
      throw new IllegalArgumentException("volume " + target + " is read-only");
    }
    this.source = source;
    this.target = target;
    this.zeros = zeros;
    this.unit = unitSize;
    this.shift = Integer.numberOfTrailingZeros(unitSize);
    this.size = target.size();
    this.units = (size + unitSize - 1) >>> shift;
    this.present = new UnitBitmap(units);
  }

  /** Returns the size of a unit in bytes. */
  public int unitSize() {
    return unit;
  }

  /** Returns whether reads still fall through to the source (the copy has not finished). */
  public boolean isMerged() {
    sourceLock.readLock().lock();
    try {
      return source != null;
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /** Returns the volume the guest's writes land in. */
  BlockDevice target() {
    return target;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    sourceLock.readLock().lock();
    try {
      if (source == null) {
        target.read(offset, dst);
        return;
      }
      long end = offset + dst.remaining();
      long pos = offset;
      while (pos < end) {
        long first = pos >>> shift;
        long stop = Math.min(unitOf(end - 1) + 1, first + PRESENCE_WINDOW);
        boolean[] p = presence(first, stop);
        int i = 0;
        while (i < p.length && pos < end) {
          int j = i + 1;
          while (j < p.length && p[j] == p[i]) {
            j++;
          }
          long runEnd = Math.min(end, (first + j) << shift);
          int n = (int) (runEnd - pos);
          ByteBuffer slice = dst.slice(dst.position(), n);
          (p[i] ? target : source).read(pos, slice);
          dst.position(dst.position() + n);
          pos = runEnd;
          i = j;
        }
      }
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, src.remaining());
    if (!src.hasRemaining()) {
      return;
    }
    sourceLock.readLock().lock();
    try {
      if (source == null) {
        target.write(offset, src);
        return;
      }
      long pos = offset;
      while (src.hasRemaining()) {
        long u = pos >>> shift;
        int n = (int) Math.min(src.remaining(), unitEnd(u) - pos);
        ByteBuffer piece = src.slice(src.position(), n);
        long mask = locks.lock(u, u + 1);
        try {
          if (isZero(piece)) {
            zeroPart(u, pos, n);
          } else {
            writePart(u, pos, piece);
          }
        } finally {
          locks.unlock(mask);
        }
        src.position(src.position() + n);
        pos += n;
      }
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /** Writes non-zero {@code piece} at {@code pos} inside unit {@code u}; the unit's lock is held. */
  private void writePart(long u, long pos, ByteBuffer piece) throws IOException {
    long start = u << shift;
    int len = (int) (unitEnd(u) - start);
    if (piece.remaining() == len || isPresent(u)) {
      target.write(pos, piece);
    } else {
      ByteBuffer merged = ByteBuffer.allocate(len);
      source.read(start, merged);
      merged.put((int) (pos - start), piece, piece.position(), piece.remaining());
      target.write(start, merged.clear());
    }
    present.set(u);
  }

  /** Makes {@code [pos, pos + n)} inside unit {@code u} read as zeros; the unit's lock is held. */
  private void zeroPart(long u, long pos, int n) throws IOException {
    long start = u << shift;
    int len = (int) (unitEnd(u) - start);
    if (!isPresent(u)) {
      if (n < len) {
        ByteBuffer merged = ByteBuffer.allocate(len);
        source.read(start, merged);
        merged.put((int) (pos - start), ByteBuffer.allocate(n), 0, n);
        merged.clear();
        if (!isZero(merged)) {
          // The unit keeps data, so the volume holding it is enough to make it present.
          target.write(start, merged);
          present.set(u);
          return;
        }
      }
      // The unit is all zeros now and the volume holds nothing for it: only the log can say so.
      zeros.add(u, u + 1);
      present.set(u);
      return;
    }
    if (n < len && !zeros.covers(u)) {
      // Logging this unit would make the volume authoritative for it as it is durably, which may
      // be less than it is now (a merge not yet flushed): log only a unit left with no data.
      ByteBuffer after = ByteBuffer.allocate(len);
      target.read(start, after);
      after.put((int) (pos - start), ByteBuffer.allocate(n), 0, n);
      if (!isZero(after.clear())) {
        target.writeZeroes(pos, n, false);
        return;
      }
    }
    // The unit reads as zeros now: whatever of it reaches the disk, zeros are a state it had.
    zeros.add(u, u + 1);
    present.set(u);
    target.writeZeroes(pos, n, false);
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    // Zero-log records are synced as they are appended; the volume's flush covers the rest.
    target.flush();
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    zero(offset, length, mayUnmap);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    zero(offset, length, true);
  }

  private void zero(long offset, long length, boolean unmap) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    if (length == 0) {
      return;
    }
    sourceLock.readLock().lock();
    try {
      if (source == null) {
        if (unmap) {
          target.discard(offset, length);
        } else {
          target.writeZeroes(offset, length, false);
        }
        return;
      }
      long end = offset + length;
      long firstWhole = unitOf(offset + unit - 1);
      long stopWhole = end == size ? units : end >>> shift;
      if (firstWhole >= stopWhole) {
        // Inside one or two units, none of them whole.
        zeroParts(offset, end);
        return;
      }
      zeroParts(offset, firstWhole << shift);
      long mask = locks.lock(firstWhole, stopWhole);
      try {
        zeros.add(firstWhole, stopWhole);
        long from = firstWhole << shift;
        long to = Math.min(size, stopWhole << shift);
        if (unmap) {
          target.discard(from, to - from);
        } else {
          target.writeZeroes(from, to - from, false);
        }
      } finally {
        locks.unlock(mask);
      }
      zeroParts(Math.min(size, stopWhole << shift), end);
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /** Zeroes {@code [from, to)}, which lies in at most two units, unit by unit. */
  private void zeroParts(long from, long to) throws IOException {
    long pos = from;
    while (pos < to) {
      long u = pos >>> shift;
      int n = (int) (Math.min(to, unitEnd(u)) - pos);
      long mask = locks.lock(u, u + 1);
      try {
        zeroPart(u, pos, n);
      } finally {
        locks.unlock(mask);
      }
      pos += n;
    }
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    sourceLock.readLock().lock();
    try {
      if (source == null) {
        return target.allocation(offset, length);
      }
      ExtentList out = new ExtentList();
      long end = offset + length;
      long pos = offset;
      while (pos < end) {
        long first = pos >>> shift;
        long stop = Math.min(unitOf(end - 1) + 1, first + PRESENCE_WINDOW);
        boolean[] p = presence(first, stop);
        int i = 0;
        while (i < p.length && pos < end) {
          int j = i + 1;
          while (j < p.length && p[j] == p[i]) {
            j++;
          }
          long runEnd = Math.min(end, (first + j) << shift);
          out.addAll((p[i] ? target : source).allocation(pos, runEnd - pos));
          pos = runEnd;
          i = j;
        }
      }
      return out.toList();
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /**
   * Writes the source's bytes {@code data} (read from the source at {@code offset}, unit-aligned)
   * into every unit the volume is not authoritative for; the background copy's one way in.
   *
   * @return the bytes written to the volume
   */
  long fill(long offset, ByteBuffer data) throws IOException {
    checkOpen();
    if ((offset & (unit - 1)) != 0) {
      throw new IllegalArgumentException("fill at " + offset + " is not aligned to the unit " + unit);
    }
    OutOfRangeException.check(this, offset, data.remaining());
    if (!data.hasRemaining()) {
      return 0;
    }
    sourceLock.readLock().lock();
    try {
      if (source == null) {
        return 0;
      }
      long first = offset >>> shift;
      long stop = unitOf(offset + data.remaining() - 1) + 1;
      long written = 0;
      long mask = locks.lock(first, stop);
      try {
        boolean[] p = presence(first, stop);
        int base = data.position();
        int i = 0;
        while (i < p.length) {
          if (p[i] || isZero(unitSlice(data, base, first, first + i))) {
            i++;
            continue;
          }
          int j = i + 1;
          while (j < p.length && !p[j] && !isZero(unitSlice(data, base, first, first + j))) {
            j++;
          }
          long from = (first + i) << shift;
          int n = (int) (Math.min(size, (first + j) << shift) - from);
          target.write(from, data.slice(base + (int) (from - offset), n));
          for (int k = i; k < j; k++) {
            present.set(first + k);
          }
          written += n;
          i = j;
        }
      } finally {
        locks.unlock(mask);
      }
      data.position(data.limit());
      return written;
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /** Returns the source's allocation of {@code [offset, offset + length)}, for the copy. */
  List<Extent> sourceAllocation(long offset, long length) throws IOException {
    sourceLock.readLock().lock();
    try {
      return sourceOrFail().allocation(offset, length);
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  /** Reads the source's bytes at {@code offset} into {@code dst}, for the copy. */
  void readSource(long offset, ByteBuffer dst) throws IOException {
    sourceLock.readLock().lock();
    try {
      sourceOrFail().read(offset, dst);
    } finally {
      sourceLock.readLock().unlock();
    }
  }

  private BlockDevice sourceOrFail() {
    checkOpen();
    if (source == null) {
      throw new IllegalStateException(this + " no longer reads a restore source");
    }
    return source;
  }

  private ByteBuffer unitSlice(ByteBuffer data, int base, long first, long u) {
    int from = (int) ((u - first) << shift);
    int n = (int) Math.min(unit, data.limit() - base - from);
    return data.slice(base + from, n);
  }

  /**
   * Stops using the source: every call goes to the volume from now on. Called once the copy has
   * made the volume complete and durable; closes the source and the zero log.
   */
  void detachSource() throws IOException {
    sourceLock.writeLock().lock();
    try {
      if (source == null) {
        return;
      }
      try (BlockDevice s = source; ZeroLog z = zeros) {
        source = null;
        zeros = null;
      }
    } finally {
      sourceLock.writeLock().unlock();
    }
  }

  /** Returns, for each unit of {@code [first, stop)}, whether the volume is authoritative for it. */
  private boolean[] presence(long first, long stop) throws IOException {
    boolean[] p = new boolean[(int) (stop - first)];
    long unknownFirst = -1;
    long unknownLast = -1;
    for (int i = 0; i < p.length; i++) {
      long u = first + i;
      if (present.get(u)) {
        p[i] = true;
      } else if (zeros.covers(u)) {
        present.set(u);
        p[i] = true;
      } else {
        if (unknownFirst < 0) {
          unknownFirst = u;
        }
        unknownLast = u;
      }
    }
    if (unknownFirst >= 0) {
      // One query of the volume answers every unit the caches could not.
      long from = unknownFirst << shift;
      long to = unitEnd(unknownLast);
      for (Extent e : target.allocation(from, to - from)) {
        if (e.kind() == Extent.Kind.HOLE) {
          continue;
        }
        for (long u = e.offset() >>> shift; u <= unitOf(e.end() - 1); u++) {
          present.set(u);
          p[(int) (u - first)] = true;
        }
      }
    }
    return p;
  }

  private boolean isPresent(long u) throws IOException {
    if (present.get(u)) {
      return true;
    }
    return presence(u, u + 1)[0];
  }

  private long unitOf(long offset) {
    return offset >>> shift;
  }

  private long unitEnd(long u) {
    return Math.min(size, (u + 1) << shift);
  }

  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

  /** Returns whether every remaining byte of {@code b} is zero; does not move it. */
  static boolean isZero(ByteBuffer b) {
    int pos = b.position();
    int end = b.limit();
    while (pos < end) {
      int n = Math.min(end - pos, ZEROS.capacity());
      if (b.slice(pos, n).mismatch(ZEROS.slice(0, n)) >= 0) {
        return false;
      }
      pos += n;
    }
    return true;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    sourceLock.writeLock().lock();
    try (BlockDevice t = target; BlockDevice s = source; ZeroLog z = zeros) {
      source = null;
      zeros = null;
    } finally {
      sourceLock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return target.toString();
  }
}
