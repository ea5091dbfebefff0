package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.vdisk.FileContent;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/** A ZERO extent: reads zeros, holds no file, cannot be written. */
final class ZeroExtent implements ExtentData {
  private final long size;
  private final String name;

  /** Makes a zero extent of {@code size} bytes named {@code name} in errors. */
  ZeroExtent(long size, String name) {
    this.size = size;
    this.name = name;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public Path file() {
    return null;
  }

  @Override
  public Run run(long offset, long max) {
    return new Run(Extent.Kind.ZERO, max);
  }

  @Override
  public void readData(long offset, ByteBuffer dst) {
    FileContent.zero(dst);
  }

  @Override
  public void write(long offset, ByteBuffer src, Underlay under) throws ReadOnlyDeviceException {
    throw new ReadOnlyDeviceException(name + ": ZERO extent cannot be written");
  }

  @Override
  public void zero(long offset, long length, boolean hasParent, Underlay under) {
    // Already zeros.
  }

  @Override
  public void flush() {}

  @Override
  public void close() {}

  @Override
  public String toString() {
    return name;
  }
}
