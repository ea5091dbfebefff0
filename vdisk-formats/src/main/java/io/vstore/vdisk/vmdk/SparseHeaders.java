package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Reads the header of a hosted sparse ("KDMV") or VMFSSPARSE ("COWD") extent, or the footer a
 * finished stream carries instead, and validates it against the limits and the file size before
 * anything is allocated from its values.
 */
final class SparseHeaders {
  private static final int SECTOR = 512;

  /** Largest grain accepted, in sectors (16 MiB): bounds the buffers one grain needs. */
  static final long MAX_GRAIN_SECTORS = 1 << 15;
  /** Largest grain table accepted, in entries. */
  static final int MAX_GTES = 1 << 16;
  /** Largest grain directory accepted, in entries (qemu's limit: 512 MiB of entries). */
  static final long MAX_GD_ENTRIES = (512L << 20) / 4;

  /** Reads and validates the header (or the streamOptimized footer) of {@code file}. */
  static SparseHeader read(Path file, FileChannel channel) throws IOException {
    long fileSize = channel.size();
    if (fileSize < SparseHeader.SIZE) {
      throw new CorruptImageException("bad vmdk: " + file + ": sparse header needs 512 bytes, file has " + fileSize);
    }
    ByteBuffer b = ByteBuffer.allocate(SparseHeader.SIZE);
    ChannelIo.readFully(channel, 0, b, file + ": sparse header");
    b.flip();
    if (CowdHeader.hasMagic(b)) {
      CowdHeader c = CowdHeader.read(b);
      if (c.version() != 1) {
        throw new UnsupportedFormatException("vmdk VMFSSPARSE extent " + file, c.version(), 1, 1);
      }
      SparseHeader h = c.asSparseHeader();
      validate(file, h, fileSize);
      if (c.gdEntries() < gdEntries(h)) {
        throw new CorruptImageException("bad vmdk: " + file + ": COWD grain directory has " + c.gdEntries()
            + " entries, the capacity needs " + gdEntries(h));
      }
      return h;
    }
    if (!SparseHeader.hasMagic(b)) {
      throw new CorruptImageException("bad vmdk: " + file + ": sparse extent lacks the KDMV or COWD magic");
    }
    SparseHeader h = SparseHeader.read(b);
    if (h.gdOffset() == SparseHeader.GD_AT_END) {
      h = readFooter(file, channel, fileSize, h);
    }
    validate(file, h, fileSize);
    return h;
  }

  private static SparseHeader readFooter(Path file, FileChannel channel, long fileSize, SparseHeader h) throws IOException {
    // Layout at the end of a finished stream: footer marker, footer (a header copy), EOS marker.
    if (!h.markers() || fileSize < 3L * SECTOR + SparseHeader.SIZE) {
      throw new CorruptImageException("bad vmdk: " + file + ": grain directory is at the end of the stream but there is no footer");
    }
    ByteBuffer b = ByteBuffer.allocate(3 * SECTOR);
    ChannelIo.readFully(channel, fileSize - 3L * SECTOR, b, file + ": footer");
    b.flip();
    GrainMarker marker = GrainMarker.read(b);
    if (marker.size() != 0 || marker.type() != GrainMarker.TYPE_FOOTER || !SparseHeader.hasMagic(b)) {
      throw new CorruptImageException("bad vmdk: " + file + ": no footer marker at 0x" + Long.toHexString(fileSize - 3L * SECTOR)
          + " (stream incomplete?)");
    }
    SparseHeader footer = SparseHeader.read(b);
    GrainMarker eos = GrainMarker.read(b);
    if (eos.size() != 0 || eos.type() != GrainMarker.TYPE_EOS) {
      throw new CorruptImageException("bad vmdk: " + file + ": no end-of-stream marker after the footer");
    }
    if (footer.gdOffset() == SparseHeader.GD_AT_END) {
      throw new CorruptImageException("bad vmdk: " + file + ": footer does not record the grain directory offset");
    }
    return footer;
  }

  private static void validate(Path file, SparseHeader h, long fileSize) throws IOException {
    String f = "bad vmdk: " + file + ": ";
    if (h.version() < 1 || h.version() > 3) {
      throw new UnsupportedFormatException("vmdk sparse extent " + file, h.version(), 1, 3);
    }
    if (h.capacity() < 0 || h.capacity() > ExtentLine.MAX_SECTORS) {
      throw new CorruptImageException(f + "capacity " + h.capacity() + " sectors too big (L1 size too big)");
    }
    long g = h.grainSize();
    if (g < 1 || g > MAX_GRAIN_SECTORS || (g & (g - 1)) != 0) {
      throw new CorruptImageException(f + "grain size " + g + " sectors is not a power of two in 1.." + MAX_GRAIN_SECTORS);
    }
    if (h.numGtesPerGt() < 1 || h.numGtesPerGt() > MAX_GTES) {
      throw new CorruptImageException(f + "grain table entries per table " + Integer.toUnsignedString(h.numGtesPerGt())
          + " not in 1.." + MAX_GTES);
    }
    if (h.compressed() && h.compressAlgorithm() != SparseHeader.COMPRESS_DEFLATE) {
      throw new UnsupportedFormatException("unsupported vmdk: " + file + ": compression algorithm " + h.compressAlgorithm());
    }
    long entries = gdEntries(h);
    if (entries > MAX_GD_ENTRIES) {
      throw new CorruptImageException(f + "grain directory of " + entries + " entries too big (L1 size too big)");
    }
    checkTableInFile(file, "grain directory", h.gdOffset(), entries, fileSize);
    if (h.redundant()) {
      checkTableInFile(file, "redundant grain directory", h.rgdOffset(), entries, fileSize);
    }
  }

  private static void checkTableInFile(Path file, String what, long sector, long entries, long fileSize) throws CorruptImageException {
    if (sector <= 0 || sector > fileSize / SECTOR || sector * SECTOR + entries * 4 > fileSize) {
      throw new CorruptImageException("bad vmdk: " + file + ": " + what + " at sector " + sector + " (" + entries
          + " entries) lies outside the file (size " + fileSize + ")");
    }
  }

  /** Returns the number of grain directory entries the header implies. */
  static long gdEntries(SparseHeader h) {
    long perTable = h.grainSize() * h.numGtesPerGt();
    return (h.capacity() + perTable - 1) / perTable;
  }

  private SparseHeaders() {}
}
