package io.vstore.vdisk.vhdx;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.ImageContract;
import io.vstore.vdisk.ImageFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/** The BlockDevice contract for every writable VHDX variant. */
class VhdxContractTest {
  abstract static class Base extends ImageContract {
    @Override
    protected ImageFormat format() {
      return VhdxQemuTest.FORMAT;
    }

    @Override
    protected int allocationGranularity() {
      return 1 << 20;
    }
  }

  @Nested
  class Dynamic extends Base {
    @Override
    protected CreateOptions options() {
      return new CreateOptions(Map.of("block_size", "1M"), null, null);
    }
  }

  @Nested
  class Fixed extends Base {
    @Override
    protected CreateOptions options() {
      return new CreateOptions(Map.of("subformat", "fixed", "block_size", "1M"), null, null);
    }
  }

  /** A differencing disk over an empty parent: the contract holds for the combined view. */
  @Nested
  class Differencing extends Base {
    @Override
    protected CreateOptions options() {
      return new CreateOptions(Map.of("block_size", "1M"), null, null);
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      Path parent = newFile("p");
      VhdxQemuTest.FORMAT.create(parent, size, options(), chain()).close();
      return VhdxQemuTest.FORMAT.create(newFile("d"), 0,
          new CreateOptions(Map.of("block_size", "1M"), parent.toString(), "vhdx"), chain());
    }
  }
}
