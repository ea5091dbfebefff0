package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;

/** The BlockDevice contract for images of one format created with given options, reopened read-write. */
public abstract class ImageContract extends BlockDeviceContract {
  private static final AtomicInteger COUNTER = new AtomicInteger();

  /** Where the images of one test lie. */
  @TempDir protected Path imageDir;

  /** Returns the format under test. */
  protected abstract ImageFormat format();

  /** Returns the options images are created with. */
  protected abstract CreateOptions options();

  /** Returns the chain opener that parents are opened with. */
  protected ImageChainOpener chain() {
    return ImageTesting.chainOf(format());
  }

  /** Returns a new file name in {@link #imageDir}, {@code prefix} then a number then {@code .name}. */
  protected final Path newFile(String prefix) {
    return imageDir.resolve(prefix + COUNTER.incrementAndGet() + "." + format().name());
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    return format().create(newFile("c"), size, options(), chain());
  }

  @Override
  protected BlockDevice reopen(BlockDevice device) throws IOException {
    Path p = ((DiskImage) device).path();
    device.close();
    return format().open(p, false, chain());
  }
}
