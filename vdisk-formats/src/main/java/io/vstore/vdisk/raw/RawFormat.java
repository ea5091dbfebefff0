package io.vstore.vdisk.raw;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The raw format: the fallback every file matches, with no structure to check. */
public final class RawFormat implements ImageFormat {
  /** The format's name as qemu-img spells it. */
  public static final String NAME = "raw";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean probe(ImageProbe probe) {
    return true; // the registry asks raw last, so this means "nothing else claimed it"
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return RawImage.open(path, readOnly);
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    if (size < 0) {
      throw new IllegalArgumentException("image size must not be negative: " + size);
    }
    if (options.backingFile() != null) {
      throw new UnsupportedFormatException("unsupported raw: a raw image cannot have a backing file");
    }
    boolean syncs = true;
    for (String key : options.options().keySet()) {
      if (key.equals("cache")) {
        syncs = !options.get(key, "").equals("unsafe");
      } else if (!key.equals("preallocation") || !options.get(key, "off").equals("off")) {
        throw new UnsupportedFormatException("unsupported raw: option '" + key
            + "' (raw accepts preallocation=off and cache=writeback|unsafe)");
      }
    }
    return RawImage.create(path, size, syncs);
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    throw new UnsupportedFormatException("unsupported raw: the format has no structure to check (" + path + ")");
  }

  @Override
  public void resize(Path path, long newSize, boolean allowShrink) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long current = ch.size();
      ImageFormat.checkResize(path, current, newSize, allowShrink);
      if (newSize < current) {
        ch.truncate(newSize);
      } else if (newSize > current) {
        // Extending by writing one zero byte at the end leaves a hole: the file stays sparse.
        ch.write(ByteBuffer.allocate(1), newSize - 1);
      }
      ch.force(true);
    }
  }
}
