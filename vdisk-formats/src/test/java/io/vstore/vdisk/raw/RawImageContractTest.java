package io.vstore.vdisk.raw;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;

class RawImageContractTest extends BlockDeviceContract {
  @TempDir Path dir;
  private final AtomicInteger n = new AtomicInteger();

  @Override
  protected BlockDevice create(long size) throws IOException {
    return new RawFormat().create(dir.resolve("d" + n.incrementAndGet() + ".raw"), size, CreateOptions.none(),
        ImageFormats.chainOpener(dir.resolve("x")));
  }

  @Override
  protected BlockDevice reopen(BlockDevice device) throws IOException {
    Path p = ((DiskImage) device).path();
    device.close();
    return ImageFormats.open(p, false);
  }
}
