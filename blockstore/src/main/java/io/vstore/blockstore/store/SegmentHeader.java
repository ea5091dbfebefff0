package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The header that starts every segment file: which datastore and which segment the file is.
 *
 * <pre>
 * little-endian, 64 bytes:
 *   0 "VSTORSEG"   8 u32 version (1)   12 u32 reserved   16 u64 segment id
 *  24 16 bytes datastore uuid   40..59 reserved   60 u32 CRC32C of bytes [0, 60)
 * </pre>
 */
final class SegmentHeader {
  /** The header's size. */
  static final int BYTES = 64;
  /** The segment file format: version 1 is the layout above. */
  static final FormatCodec CODEC = new FormatCodec("vstore-segment", "segment", "VSTORSEG", 1, 1);
  private static final int VERSION_AT = 8;
  private static final int CHECKSUM_AT = 60;

  private SegmentHeader() {}

  /** Returns the header of segment {@code id} of datastore {@code datastore}. */
  static ByteBuffer of(long id, UUID datastore) {
    ByteBuffer header = ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN);
    CODEC.putMagic(header, 0);
    header.putInt(VERSION_AT, CODEC.version()).putLong(16, id)
        .putLong(24, datastore.getMostSignificantBits()).putLong(32, datastore.getLeastSignificantBits());
    return header.putInt(CHECKSUM_AT, FormatCodec.checksum(header, 0, CHECKSUM_AT));
  }

  /**
   * Returns whether {@code header} (its bytes from 0 to its limit) is a whole header whose checksum
   * matches, or one from a newer vstore (whose checksum this vstore may not know how to compute):
   * not a header a crash left half written.
   */
  static boolean complete(ByteBuffer header) {
    if (header.limit() < BYTES) {
      return false;
    }
    ByteBuffer h = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (CODEC.hasMagic(h, 0) && Integer.toUnsignedLong(h.getInt(VERSION_AT)) > CODEC.version()) {
      return true;
    }
    return h.getInt(CHECKSUM_AT) == FormatCodec.checksum(h, 0, CHECKSUM_AT);
  }

  /**
   * Checks that {@code header} (its bytes from 0 to its limit, read from the start of {@code path})
   * is the header of segment {@code id} of datastore {@code datastore}, in a version this vstore
   * reads.
   */
  static void check(ByteBuffer header, Path path, long id, UUID datastore) throws IOException {
    ByteBuffer h = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    if (h.limit() < BYTES) {
      if (h.limit() >= CODEC.magicBytes()) {
        CODEC.checkMagic(h, 0, path::toString);
      }
      throw new CorruptDataException("bad segment: " + path + " is shorter than its header (" + h.limit() + " of "
          + BYTES + " bytes)");
    }
    CODEC.checkMagic(h, 0, path::toString);
    CODEC.checkVersion(Integer.toUnsignedLong(h.getInt(VERSION_AT)), path::toString);
    CODEC.checkChecksum(h.getInt(CHECKSUM_AT), FormatCodec.checksum(h, 0, CHECKSUM_AT), path::toString, "header");
    UUID owner = new UUID(h.getLong(24), h.getLong(32));
    if (h.getLong(16) != id || !owner.equals(datastore)) {
      throw new CorruptDataException("bad segment: " + path + " header says segment " + h.getLong(16) + " of datastore "
          + owner + ", expected segment " + id + " of datastore " + datastore);
    }
  }
}
