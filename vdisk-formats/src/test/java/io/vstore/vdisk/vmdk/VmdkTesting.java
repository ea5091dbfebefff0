package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import java.io.IOException;
import java.nio.file.Path;

/** The VMDK tests' format instance and chain opener (corpus, qemu and byte helpers are shared). */
final class VmdkTesting {
  static final VmdkFormat FORMAT = new VmdkFormat();

  private VmdkTesting() {}

  /** A chain opener for VMDK parents, read-only, guarding depth. */
  static ImageChainOpener chain() {
    return chain(0);
  }

  private static ImageChainOpener chain(int depth) {
    return (path, format) -> {
      if (depth > 16) {
        throw new IOException("chain deeper than 16 at " + path);
      }
      return FORMAT.open(path, true, chain(depth + 1));
    };
  }

  /** Opens a VMDK read-only with its chain. */
  static DiskImage open(Path p) throws IOException {
    return FORMAT.open(p, true, chain());
  }
}
