package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** An open image file (and the chain behind it) as a {@link BlockDevice}. */
public interface DiskImage extends BlockDevice {

  /** Returns the image's own file (for multi-file formats, the descriptor or first file). */
  Path path();

  /** Returns what the image is: format, subformat, sizes, backing file. */
  ImageInfo info() throws IOException;

  /** Returns the opened backing/parent image, if this image has one. */
  Optional<DiskImage> backing();

  /**
   * Returns whether writes must come in ascending offset order, each exactly once (stream formats
   * such as VMDK streamOptimized while being created).
   */
  default boolean sequentialWritesOnly() {
    return false;
  }
}
