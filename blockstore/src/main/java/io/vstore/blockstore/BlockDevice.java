package io.vstore.blockstore;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A fixed-size array of bytes with explicit positions: a volume head, a read-only snapshot, an
 * image file, a backup restore point.
 *
 * <p>Contract shared by every implementation (checked by the {@code BlockDeviceContract} test
 * suite in this module's test jar):
 *
 * <ul>
 *   <li>Positions and lengths are in bytes and need no alignment; implementations that store
 *       larger units read-modify-write. A range that does not lie inside {@code [0, size())}
 *       throws {@link OutOfRangeException} and changes nothing.
 *   <li>Calls never do less than asked: {@link #read} fills the whole of {@code dst.remaining()},
 *       {@link #write} consumes the whole of {@code src.remaining()}; both advance the buffer's
 *       position by that amount.
 *   <li>Bytes never written read as zeros. After {@link #writeZeroes} or {@link #discard} the range
 *       reads as zeros.
 *   <li>{@link #flush()} is the durability point: data written before a flush that returned
 *       survives a crash; data not flushed may be lost, but never reads back as garbage.
 *   <li>Safe for concurrent use by many threads. Concurrent writes to overlapping ranges leave one
 *       of the writes' bytes per block, unspecified which.
 *   <li>{@link #toString()} names the resource (volume or file); errors name it too.
 * </ul>
 */
public interface BlockDevice extends Closeable {

  /** Returns the virtual size in bytes; fixed for the life of the handle. */
  long size();

  /** Reads {@code dst.remaining()} bytes starting at {@code offset} into {@code dst}. */
  void read(long offset, ByteBuffer dst) throws IOException;

  /**
   * Writes all of {@code src.remaining()} bytes at {@code offset}.
   *
   * @throws ReadOnlyDeviceException if the device is read-only
   * @throws OutOfSpaceException if the backing store cannot allocate the space
   */
  void write(long offset, ByteBuffer src) throws IOException;

  /** Makes every completed write durable. */
  void flush() throws IOException;

  /**
   * Makes {@code [offset, offset + length)} read as zeros; with {@code mayUnmap} the device may
   * also release the space (the range then reports as a hole).
   */
  void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException;

  /** Releases the space of {@code [offset, offset + length)}; the range then reads as zeros. */
  void discard(long offset, long length) throws IOException;

  /**
   * Describes {@code [offset, offset + length)} as sorted, contiguous extents that cover the range
   * exactly; neighbouring extents of the same kind are merged.
   */
  List<Extent> allocation(long offset, long length) throws IOException;

  /** Returns whether writes, zeroing and discards are refused. */
  boolean isReadOnly();

  /** Releases the handle; idempotent. Unflushed writes are flushed first when possible. */
  @Override
  void close() throws IOException;
}
