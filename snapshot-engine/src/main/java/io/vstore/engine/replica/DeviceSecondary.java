package io.vstore.engine.replica;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A secondary reached as a plain {@link BlockDevice} (an NBD export): no change tracking and no
 * epoch of its own, so its resyncs rely on the primary's pin alone and a re-protect towards it
 * copies the whole volume (docs/ARCHITECTURE.md, "Synchronous replication").
 */
final class DeviceSecondary implements Secondary {
  private final BlockDevice device;

  DeviceSecondary(BlockDevice device) {
    this.device = device;
  }

  @Override
  public long size() {
    return device.size();
  }

  @Override
  public void write(long offset, ByteBuffer src, long epoch) throws IOException {
    device.write(offset, src);
  }

  @Override
  public void zero(long offset, long length, boolean discard, long epoch) throws IOException {
    device.writeZeroes(offset, length, discard);
  }

  @Override
  public void flush(long epoch) throws IOException {
    device.flush();
  }

  @Override
  public boolean startsEmpty() {
    return false;
  }

  @Override
  public String flushedChangeId() throws IOException {
    device.flush();
    return null;
  }

  @Override
  public List<Extent> changedSince(String changeId) {
    return null;
  }

  @Override
  public void agreed(String own, String peer) {
    // Nothing to record: a plain device keeps no history.
  }

  @Override
  public void close() throws IOException {
    device.close();
  }

  @Override
  public String toString() {
    return device.toString();
  }
}
