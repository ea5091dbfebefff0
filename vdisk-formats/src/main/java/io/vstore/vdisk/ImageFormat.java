package io.vstore.vdisk;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One disk image format: how to recognise it by content, open it, create it and check it.
 * Implementations are stateless singletons registered in {@link ImageFormats}.
 */
public interface ImageFormat {

  /** Returns the format's name as qemu-img spells it: raw, qcow2, vmdk, vpc, vhdx, vdi. */
  String name();

  /** Returns whether the probed file's content is of this format (never judged by extension). */
  boolean probe(ImageProbe probe);

  /**
   * Opens {@code path}. A format with backing/parent files opens them through {@code chain}, which
   * detects their formats, and owns (closes) what it opened.
   *
   * @throws CorruptImageException if a structure fails validation
   * @throws UnsupportedFormatException if the file uses a version or feature this reader lacks
   */
  DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException;

  /** Creates a new, empty image of {@code size} bytes at {@code path} and opens it read-write. */
  DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException;

  /** Checks {@code path}'s consistency without changing it. */
  CheckResult check(Path path) throws IOException;

  /**
   * Changes the virtual size of the image at {@code path} (which no one has open) to {@code newSize}
   * bytes, as {@code qemu-img resize} does: new space reads as zeros; making it smaller drops the
   * data past the new end and needs {@code allowShrink}. Formats qemu-img cannot resize refuse.
   *
   * @throws IllegalArgumentException if the image would shrink without {@code allowShrink}
   * @throws UnsupportedFormatException if the format (or this image's features) cannot be resized
   */
  default void resize(Path path, long newSize, boolean allowShrink) throws IOException {
    throw new UnsupportedFormatException("unsupported: image resize of " + name() + " images (qemu-img cannot resize "
        + name() + " either); convert to qcow2 or raw, resize, and convert back");
  }

  /**
   * Rewrites which backing file the image at {@code path} names, without touching its data
   * ({@code backingName} null: none), as {@code qemu-img rebase -u} does. Formats without backing
   * files, or whose parent references vstore does not rewrite, refuse.
   */
  default void setBackingFile(Path path, String backingName, String backingFormat) throws IOException {
    throw new UnsupportedFormatException("unsupported: image rebase of " + name()
        + " images (vstore rewrites the backing references of qcow2 images and VMDK delta disks)");
  }

  /** Returns whether {@link #setBackingFile} is implemented for this format. */
  default boolean canSetBackingFile() {
    return false;
  }

  /**
   * Checks the steps of an image resize shared by every format: the size is not negative, and
   * smaller only when {@code allowShrink}.
   */
  static void checkResize(Path path, long current, long newSize, boolean allowShrink) {
    if (newSize < 0) {
      throw new IllegalArgumentException("image resize: new size " + newSize + " is negative");
    }
    if (newSize < current && !allowShrink) {
      throw new IllegalArgumentException("image resize: " + path + " would shrink from " + current + " to " + newSize
          + " bytes, losing the data past the new end; use --shrink to allow it");
    }
  }
}
