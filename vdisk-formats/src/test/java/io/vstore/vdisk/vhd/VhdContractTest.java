package io.vstore.vdisk.vhd;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.ImageContract;
import io.vstore.vdisk.ImageFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/** The BlockDevice contract for every writable VHD variant. */
class VhdContractTest {
  abstract static class Base extends ImageContract {
    @Override
    protected ImageFormat format() {
      return VhdQemuTest.FORMAT;
    }
  }

  @Nested
  class Dynamic extends Base {
    @Override
    protected CreateOptions options() {
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
    protected CreateOptions options() {
      return new CreateOptions(Map.of("block_size", "4096"), null, null);
    }
  }

  @Nested
  class Fixed extends Base {
    @Override
    protected CreateOptions options() {
      return new CreateOptions(Map.of("subformat", "fixed", "force_size", "on"), null, null);
    }
  }

  /** A differencing disk over a parent full of data: the contract holds for the combined view. */
  @Nested
  class Differencing extends Base {
    @Override
    protected CreateOptions options() {
      throw new UnsupportedOperationException();
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      Path parent = newFile("p");
      // An empty parent: every read of an unwritten child sector goes through it.
      VhdQemuTest.FORMAT.create(parent, size, new CreateOptions(Map.of("force_size", "on"), null, null), chain()).close();
      return VhdQemuTest.FORMAT.create(newFile("d"), 0,
          new CreateOptions(Map.of("block_size", "65536"), parent.toString(), "vpc"), chain());
    }

    @Override
    protected int allocationGranularity() {
      return 65536;
    }
  }
}
