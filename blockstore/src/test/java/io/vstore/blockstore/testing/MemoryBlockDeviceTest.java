package io.vstore.blockstore.testing;

import io.vstore.blockstore.BlockDevice;

/** Holds the reference model itself to the contract it is used to check. */
final class MemoryBlockDeviceTest extends BlockDeviceContract {
  @Override
  protected BlockDevice create(long size) {
    return new MemoryBlockDevice("test", size);
  }
}
