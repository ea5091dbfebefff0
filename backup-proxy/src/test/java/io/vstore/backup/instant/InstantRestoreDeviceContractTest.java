package io.vstore.backup.instant;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The merged device over an empty source passes the contract every writable device must. */
class InstantRestoreDeviceContractTest extends BlockDeviceContract {
  @TempDir Path dir;
  private int made;

  @Override
  protected BlockDevice create(long size) throws IOException {
    Path ds = dir.resolve("ds" + made++);
    RestoreRecord record = InstantRestore.newRecord("v", "repo", "p", null, null, false, 64 << 10, size);
    return InstantRestore.start(ds, new MemoryBlockDevice("volume", size),
        new MemoryBlockDevice("point", size, true), record).device();
  }
}
