package io.vstore.vdisk.vhdx;

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

/** The BlockDevice contract for every writable VHDX variant. */
class VhdxContractTest {
  @TempDir static Path dir;
  private static final AtomicInteger COUNTER = new AtomicInteger();

  abstract static class Base extends BlockDeviceContract {
    abstract Map<String, String> options();

    @Override
    protected BlockDevice create(long size) throws IOException {
      Path p = dir.resolve("c" + COUNTER.incrementAndGet() + ".vhdx");
      return VhdxQemuTest.FORMAT.create(p, size, new CreateOptions(options(), null, null), VhdxQemuTest.CHAIN);
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) throws IOException {
      Path p = ((DiskImage) device).path();
      device.close();
      return VhdxQemuTest.FORMAT.open(p, false, VhdxQemuTest.CHAIN);
    }

    @Override
    protected int allocationGranularity() {
      return 1 << 20;
    }
  }

  @Nested
  class Dynamic extends Base {
    @Override
    Map<String, String> options() {
      return Map.of("block_size", "1M");
    }
  }

  @Nested
  class Fixed extends Base {
    @Override
    Map<String, String> options() {
      return Map.of("subformat", "fixed", "block_size", "1M");
    }
  }

  /** A differencing disk over an empty parent: the contract holds for the combined view. */
  @Nested
  class Differencing extends Base {
    @Override
    Map<String, String> options() {
      return Map.of();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      int n = COUNTER.incrementAndGet();
      Path parent = dir.resolve("p" + n + ".vhdx");
      VhdxQemuTest.FORMAT.create(parent, size, new CreateOptions(Map.of("block_size", "1M"), null, null),
          VhdxQemuTest.CHAIN).close();
      return VhdxQemuTest.FORMAT.create(dir.resolve("d" + n + ".vhdx"), 0,
          new CreateOptions(Map.of("block_size", "1M"), parent.toString(), "vhdx"), VhdxQemuTest.CHAIN);
    }
  }
}
