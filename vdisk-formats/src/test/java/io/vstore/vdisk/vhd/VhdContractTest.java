package io.vstore.vdisk.vhd;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** The BlockDevice contract for every writable VHD variant. */
class VhdContractTest {
  @TempDir static Path dir;
  private static final AtomicInteger COUNTER = new AtomicInteger();

  abstract static class Base extends BlockDeviceContract {
    abstract CreateOptions options();

    @Override
    protected BlockDevice create(long size) throws IOException {
      Path p = dir.resolve("c" + COUNTER.incrementAndGet() + ".vhd");
      return VhdQemuTest.FORMAT.create(p, size, options(), VhdQemuTest.CHAIN);
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) throws IOException {
      Path p = ((DiskImage) device).path();
      device.close();
      return VhdQemuTest.FORMAT.open(p, false, VhdQemuTest.CHAIN);
    }
  }

  @Nested
  class Dynamic extends Base {
    @Override
    CreateOptions options() {
      return new CreateOptions(Map.of("force_size", "on"), null, null);
    }

    @Override
    protected int allocationGranularity() {
      return 2 << 20;
    }
  }

  @Nested
  class DynamicSmallBlocks extends Base {
    @Override
    CreateOptions options() {
      return new CreateOptions(Map.of("block_size", "4096"), null, null);
    }
  }

  @Nested
  class Fixed extends Base {
    @Override
    CreateOptions options() {
      return new CreateOptions(Map.of("subformat", "fixed", "force_size", "on"), null, null);
    }
  }

  /** A differencing disk over a parent full of data: the contract holds for the combined view. */
  @Nested
  class Differencing extends Base {
    @Override
    CreateOptions options() {
      throw new UnsupportedOperationException();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      int n = COUNTER.incrementAndGet();
      Path parent = dir.resolve("p" + n + ".vhd");
      // An empty parent: every read of an unwritten child sector goes through it.
      VhdQemuTest.FORMAT.create(parent, size, new CreateOptions(Map.of("force_size", "on"), null, null),
          VhdQemuTest.CHAIN).close();
      return VhdQemuTest.FORMAT.create(dir.resolve("d" + n + ".vhd"), 0,
          new CreateOptions(Map.of("block_size", "65536"), parent.toString(), "vpc"), VhdQemuTest.CHAIN);
    }

    @Override
    protected int allocationGranularity() {
      return 65536;
    }
  }
}
