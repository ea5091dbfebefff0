package io.vstore.backup.instant;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

/** A read-only device whose reads pause briefly at random, as a repository read does, so that tests race the copy. */
final class SlowDevice implements BlockDevice {
  private final BlockDevice inner;
  private final Random random;

  SlowDevice(BlockDevice inner, Random random) {
    this.inner = inner;
    this.random = random;
  }

  @Override
  public long size() {
    return inner.size();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    int pause;
    synchronized (random) {
      pause = random.nextInt(200);
    }
    LockSupport.parkNanos(pause * 1000L);
    inner.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    inner.write(offset, src);
  }

  @Override
  public void flush() throws IOException {
    inner.flush();
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    inner.writeZeroes(offset, length, mayUnmap);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    inner.discard(offset, length);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    return inner.allocation(offset, length);
  }

  @Override
  public boolean isReadOnly() {
    return inner.isReadOnly();
  }

  @Override
  public void close() throws IOException {
    inner.close();
  }

  @Override
  public String toString() {
    return inner.toString();
  }
}
