package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;

/** The BlockDevice contract run on VMDK images created with given options. */
abstract class VmdkContractBase extends BlockDeviceContract {
  @TempDir Path dir;
  private final AtomicInteger n = new AtomicInteger();

  /** Returns the create options of the subformat under test. */
  abstract Map<String, String> options();

  @Override
  protected BlockDevice create(long size) throws IOException {
    Path p = dir.resolve("disk" + n.incrementAndGet() + ".vmdk");
    return VmdkTesting.FORMAT.create(p, size, new CreateOptions(options(), null, null), VmdkTesting.chain());
  }

  @Override
  protected BlockDevice reopen(BlockDevice device) throws IOException {
    Path p = ((DiskImage) device).path();
    device.close();
    return VmdkTesting.FORMAT.open(p, false, VmdkTesting.chain());
  }

  @Override
  protected int allocationGranularity() {
    return 65536;
  }
}
