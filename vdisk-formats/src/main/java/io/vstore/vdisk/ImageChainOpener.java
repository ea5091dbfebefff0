package io.vstore.vdisk;

import java.io.IOException;
import java.nio.file.Path;

/** Opens the backing or parent file of an image, detecting its format by content. */
@FunctionalInterface
public interface ImageChainOpener {

  /**
   * Opens {@code path} read-only; {@code expectedFormat} may be null when the child does not
   * record it. Depth and cycles are guarded by the implementation.
   */
  DiskImage openBacking(Path path, String expectedFormat) throws IOException;
}
