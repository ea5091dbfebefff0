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
}
