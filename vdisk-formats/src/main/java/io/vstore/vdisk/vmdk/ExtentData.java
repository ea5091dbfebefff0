package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The data of one descriptor extent, addressed from 0 to {@link #size()}. The image maps guest
 * offsets onto extents and resolves holes through the parent.
 */
sealed interface ExtentData extends Closeable permits FileExtent, ZeroExtent {

  /** A run of bytes of one kind starting at the asked offset. */
  record Run(Extent.Kind kind, long length) {}

  /** Supplies the bytes beneath an extent (the parent's, or zeros) for partial grain writes. */
  @FunctionalInterface
  interface Underlay {
    /** Fills {@code dst} with what the extent's offset {@code offset} reads as when unallocated. */
    void read(long offset, ByteBuffer dst) throws IOException;
  }

  /** Returns the extent's size in bytes. */
  long size();

  /** Returns the file holding the data, or null for a zero extent. */
  Path file();

  /** Returns the kind at {@code offset} and how many following bytes (at most {@code max}) share it. */
  Run run(long offset, long max) throws IOException;

  /** Reads bytes of a DATA run into {@code dst}. */
  void readData(long offset, ByteBuffer dst) throws IOException;

  /** Writes {@code src} at {@code offset}; unallocated parts of touched grains come from {@code under}. */
  void write(long offset, ByteBuffer src, Underlay under) throws IOException;

  /** Makes {@code [offset, offset + length)} read as zeros even when a parent lies beneath. */
  void zero(long offset, long length, boolean hasParent, Underlay under) throws IOException;

  /** Forces written data to stable storage. */
  void flush() throws IOException;
}
