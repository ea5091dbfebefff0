package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.blockstore.testing.BlockDeviceContract;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class ScratchDeviceTest extends BlockDeviceContract {
  @Override
  protected BlockDevice create(long size) {
    return new ScratchDevice("contract", size, size);
  }

  @Override
  protected int allocationGranularity() {
    return ScratchDevice.PAGE;
  }

  @Test
  void refusesToHoldMoreThanItsCap() throws Exception {
    try (ScratchDevice d = new ScratchDevice("capped", 1 << 20, 2 * ScratchDevice.PAGE)) {
      d.write(0, ByteBuffer.allocate(2 * ScratchDevice.PAGE));
      assertThatThrownBy(() -> d.write(4L * ScratchDevice.PAGE, ByteBuffer.allocate(1)))
          .isInstanceOf(OutOfSpaceException.class).hasMessageContaining("capped");
      d.discard(0, ScratchDevice.PAGE);
      assertThat(d.allocatedBytes()).isEqualTo(ScratchDevice.PAGE);
      d.write(4L * ScratchDevice.PAGE, ByteBuffer.allocate(1));
    }
  }
}
