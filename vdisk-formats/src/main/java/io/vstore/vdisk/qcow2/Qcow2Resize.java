package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code image resize} of a qcow2 image, as {@code qemu-img resize} does it.
 *
 * <p>Growing writes a larger L1 table to new clusters when the new size needs more entries
 * (synced), then switches the header to it and the new size in one sector, then frees the old
 * table; the part of the old last cluster past the old end, and whatever a longer backing file
 * would show through the new space, are zeroed, so new space reads as zeros. Shrinking (only when
 * allowed) first zeroes the data past the new end through the image itself, then writes the
 * smaller size, then drops the L2 tables wholly past the end from the active L1 table and frees
 * what only they reached. A crash between the steps leaves at most leaked clusters. Internal
 * snapshots keep their own L1 tables and sizes; as in QEMU, a version 2 image with snapshots is
 * not resized (its snapshots do not record their size).
 */
final class Qcow2Resize {
  private Qcow2Resize() {}

  static void resize(Path path, long newSize, boolean allowShrink, ChannelOpener channels) throws IOException {
    long oldSize;
    long keepEntries;
    try (Qcow2Metadata m = Qcow2Metadata.open(path, false, channels)) {
      oldSize = m.header.size();
      ImageFormat.checkResize(path, oldSize, newSize, allowShrink);
      if (newSize % 512 != 0) {
        throw new IllegalArgumentException("image resize: new size " + newSize + " is not a multiple of 512 bytes");
      }
      if (m.header.version() == 2 && m.header.nbSnapshots() > 0) {
        throw new UnsupportedFormatException("unsupported qcow2: " + path
            + " is a version 2 image with snapshots, whose size cannot change (as in qemu-img); "
            + "upgrade it with qemu-img amend -o compat=1.1 first");
      }
      if (m.header.hasDataFile()) {
        throw new UnsupportedFormatException("unsupported qcow2: resize of " + path + ", which has an external data file");
      }
      long needed = m.l1EntriesFor(newSize);
      if (needed * 8 > Qcow2L2Cache.MAX_L1_BYTES) {
        throw new UnsupportedFormatException("unsupported qcow2: " + newSize + " bytes need an L1 table of " + needed
            + " entries, more than QEMU's limit of " + Qcow2L2Cache.MAX_L1_BYTES / 8
            + " (use a larger cluster size)");
      }
      keepEntries = needed;
      if (newSize == oldSize) {
        return;
      }
      if (newSize > oldSize) {
        grow(m, newSize, (int) needed);
      }
    }
    if (newSize < oldSize) {
      shrink(path, oldSize, newSize, keepEntries, channels);
    } else {
      zeroNewSpace(path, oldSize, newSize, channels);
    }
  }

  private static void grow(Qcow2Metadata m, long newSize, int needed) throws IOException {
    if (needed <= m.l1.length) {
      m.header = m.header.withSize(newSize);
      m.writeHeader();
      m.sync();
      return;
    }
    long[] old = m.l1;
    long oldOffset = m.header.l1TableOffset();
    long l1 = m.refcounts.allocate(m.clustersFor((long) needed * 8));
    m.writeRefcounts();
    long[] grown = java.util.Arrays.copyOf(old, needed); // same tables, same COPIED flags
    m.writeL1(l1, grown, needed);
    m.sync();
    m.header = m.header.withL1(l1, needed).withSize(newSize);
    m.writeHeader();
    m.sync();
    m.l1 = grown;
    if (old.length > 0) {
      m.releaseClusters(oldOffset, m.clustersFor((long) old.length * 8));
    }
    m.applyFrees();
  }

  /**
   * Zeroes what the new space would show that is not zeros: the tail of the old last cluster (an
   * earlier shrink by another tool may have left data there) and a longer backing file's data.
   */
  private static void zeroNewSpace(Path path, long oldSize, long newSize, ChannelOpener channels) throws IOException {
    try (DiskImage img = Qcow2Image.open(path, false, ImageFormats.chainOpener(path), false, true, channels)) {
      int cs = ((Qcow2Image) img).clusterSize();
      long tailEnd = Math.min(newSize, (oldSize + cs - 1) & -cs);
      long backingEnd = img.backing().map(DiskImage::size).orElse(0L);
      long end = Math.min(newSize, Math.max(tailEnd, backingEnd));
      if (end > oldSize) {
        img.writeZeroes(oldSize, end - oldSize, false);
      }
    }
  }

  private static void shrink(Path path, long oldSize, long newSize, long keepEntries, ChannelOpener channels)
      throws IOException {
    try (DiskImage img = Qcow2Image.open(path, false, ImageFormats.chainOpener(path), false, true, channels)) {
      Qcow2Image q = (Qcow2Image) img;
      long coverage = (long) q.l2Entries() << Integer.numberOfTrailingZeros(q.clusterSize());
      long end = Math.min(oldSize, keepEntries * coverage);
      if (end > newSize) {
        img.writeZeroes(newSize, end - newSize, true);
      }
    }
    try (Qcow2Metadata m = Qcow2Metadata.open(path, false, channels)) {
      m.header = m.header.withSize(newSize);
      m.writeHeader();
      m.sync();
      boolean dropped = false;
      for (int i = (int) keepEntries; i < m.l1.length; i++) {
        if (m.l1[i] != 0) {
          m.countTree(new long[] {m.l1[i]}, false, "active");
          m.l1[i] = 0;
          dropped = true;
        }
      }
      if (dropped) {
        m.writeL1(m.header.l1TableOffset(), m.l1, m.l1.length);
        m.sync();
        m.applyFrees();
      }
    }
  }
}
