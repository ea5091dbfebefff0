package io.vstore.backup.engine;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A read-only view of a device whose reads at or beyond {@code failAt} fail: an interrupted backup. */
record FailingReads(BlockDevice device, long failAt) implements BlockDevice {
  @Override
  public long size() {
    return device.size();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    if (offset + dst.remaining() > failAt) {
      throw new IOException("injected read failure at " + offset + " of " + device);
    }
    device.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void flush() {}

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void discard(long offset, long length) {
    throw new UnsupportedOperationException();
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    return device.allocation(offset, length);
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public void close() {}
}
