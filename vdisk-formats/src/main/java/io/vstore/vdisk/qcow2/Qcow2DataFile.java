package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * Where a qcow2 image keeps its guest data clusters: in the image file itself, or (incompatible
 * feature bit 2) in an external data file named by a header extension.
 *
 * <p>An external data file is laid out 1:1: the host offset of every data cluster equals its guest
 * offset, its clusters are not refcounted (the refcounts cover only the qcow2 file), and compressed
 * clusters cannot exist. With the raw bit (autoclear bit 1) the data file must read as the whole
 * guest disk by itself, so zeros are written into it rather than only flagged in the L2 table.
 */
final class Qcow2DataFile implements Closeable {
  private final FileChannel channel;
  private final boolean external;
  private final boolean raw;
  private final String name;
  private final Path path;

  private Qcow2DataFile(FileChannel channel, boolean external, boolean raw, String name, Path path) {
    this.channel = channel;
    this.external = external;
    this.raw = raw;
    this.name = name;
    this.path = path;
  }

  /**
   * Returns the data file of the image at {@code image}, opening the external one through
   * {@code channels}; otherwise wraps {@code own}. A relative name is looked up in the image's
   * directory (as backing files are), then in the working directory, where qemu-img 7.2 looks.
   */
  static Qcow2DataFile open(Path image, FileChannel own, Qcow2Header h, Qcow2Extensions ext, boolean readOnly,
      ChannelOpener channels) throws IOException {
    if (!h.hasDataFile()) {
      return new Qcow2DataFile(own, false, false, null, null);
    }
    String name = ext.dataFileName();
    if (name == null || name.isEmpty()) {
      throw new UnsupportedFormatException("unsupported qcow2: " + image
          + " uses an external data file but does not name it (no data file name header extension)");
    }
    if (h.dataFileRaw() && h.backingFileOffset() != 0) {
      throw new UnsupportedFormatException("unsupported qcow2: " + image
          + " has both a raw external data file and a backing file (the spec forbids the combination)");
    }
    Path p = ImageFormats.resolveBacking(image, name);
    if (!Files.exists(p) && Files.exists(Path.of(name))) {
      p = Path.of(name);
    }
    FileChannel ch = channels.open(p, readOnly ? Set.of(StandardOpenOption.READ)
        : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
    return new Qcow2DataFile(ch, true, h.dataFileRaw(), name, p);
  }

  /** Returns the channel holding the data clusters (the image's own channel without a data file). */
  FileChannel channel() {
    return channel;
  }

  /** Returns whether the data clusters live in an external, unrefcounted, 1:1 data file. */
  boolean external() {
    return external;
  }

  /** Returns whether the external data file must stay readable as a raw image by itself. */
  boolean raw() {
    return raw;
  }

  /** Returns the data file name as the header extension stores it, or null without a data file. */
  String name() {
    return name;
  }

  /** Returns the resolved path of the external data file, or null without one. */
  Path path() {
    return path;
  }

  /** Makes the data written to an external data file durable (the image's own file syncs itself). */
  void sync() throws IOException {
    if (external) {
      channel.force(false);
    }
  }

  /** Closes the external data file; the image's own channel is the image's to close. */
  @Override
  public void close() throws IOException {
    if (external) {
      channel.close();
    }
  }
}
