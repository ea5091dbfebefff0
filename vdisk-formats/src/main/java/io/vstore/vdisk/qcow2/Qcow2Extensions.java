package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the first cluster holds beside the fixed header: the header extensions (type, length,
 * data padded to 8 bytes, up to an end marker) and the backing file name.
 *
 * @param backingName the backing file name as stored, or null
 * @param backingFormat the backing format extension's value, or null
 * @param featureNames the feature name table: {@code kind * 64 + bit} to name
 * @param dataFileName the external data file name extension's value, or null
 */
record Qcow2Extensions(String backingName, String backingFormat, Map<Integer, String> featureNames,
    String dataFileName) {
  /** Type of the end marker. */
  static final int EXT_END = 0;
  /** Type of the backing format name. */
  static final int EXT_BACKING_FORMAT = 0xE2792ACA;
  /** Type of the feature name table. */
  static final int EXT_FEATURE_NAMES = 0x6803f857;
  /** Type of the external data file name. */
  static final int EXT_DATA_FILE = 0x44415441;

  /** Reads the header extensions and backing file name from {@code first}, the first cluster of {@code file}. */
  static Qcow2Extensions read(Qcow2Header h, ByteBuffer first, String file) throws CorruptImageException {
    ByteBuffer b = first.duplicate().order(ByteOrder.BIG_ENDIAN);
    int limit = Math.min(b.limit(), h.clusterSize());
    int pos = h.encodedLength();
    String backingFormat = null;
    String dataFile = null;
    Map<Integer, String> names = new TreeMap<>();
    while (pos + 8 <= limit) {
      int type = b.getInt(pos);
      int len = b.getInt(pos + 4);
      if (type == EXT_END) {
        break;
      }
      if (len < 0 || len > limit - pos - 8) {
        throw new CorruptImageException("bad qcow2: " + file + " header extension 0x" + Integer.toHexString(type)
            + " at " + pos + " length " + Integer.toUnsignedString(len) + " runs past the first cluster");
      }
      byte[] data = new byte[len];
      b.get(pos + 8, data);
      if (type == EXT_BACKING_FORMAT) {
        backingFormat = new String(data, StandardCharsets.UTF_8).replace("\0", "");
      } else if (type == EXT_DATA_FILE) {
        dataFile = new String(data, StandardCharsets.UTF_8);
      } else if (type == EXT_FEATURE_NAMES) {
        for (int i = 0; i + 48 <= len; i += 48) {
          int kind = data[i];
          int bit = data[i + 1];
          String name = new String(data, i + 2, 46, StandardCharsets.UTF_8).replace("\0", "");
          names.put(kind * 64 + bit, name);
        }
      }
      pos += 8 + ((len + 7) & ~7);
    }
    String backingName = null;
    if (h.backingFileOffset() != 0) {
      if (h.backingFileOffset() + h.backingFileSize() > b.limit()) {
        throw new CorruptImageException("bad qcow2: " + file + " backing file name at " + h.backingFileOffset()
            + " is cut off by the end of file");
      }
      byte[] name = new byte[h.backingFileSize()];
      b.get((int) h.backingFileOffset(), name);
      backingName = new String(name, StandardCharsets.UTF_8);
    }
    return new Qcow2Extensions(backingName, backingFormat, names, dataFile);
  }
}
