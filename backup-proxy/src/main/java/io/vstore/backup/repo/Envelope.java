package io.vstore.backup.repo;

import io.vstore.backup.crypto.Aead;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import javax.crypto.AEADBadTagException;

/**
 * The frame around every small repository object (config, key, index, manifest, page, pack
 * trailer). Big-endian:
 *
 * <pre>
 *  0  4  magic "VSBR"
 *  4  1  type (1 config, 2 key, 3 index, 4 manifest, 5 page, 6 pack trailer)
 *  5  1  version of the body's layout
 *  6  1  flags: bit 0 = body sealed
 *  7  1  reserved, 0
 *  8  4  n = body length
 * 12  n  body; when sealed: nonce(12) || AES-256-GCM(body) || tag(16), the 12 header bytes and
 *        the object's key (UTF-8) as associated data, so a sealed object moved to another key fails
 * 12+n 4 CRC32C of bytes 0..12+n
 * </pre>
 */
final class Envelope {
  static final int MAGIC = 0x56534252;
  static final int HEADER_BYTES = 12;
  static final int CRC_BYTES = 4;
  static final int FLAG_SEALED = 1;

  static final int CONFIG = 1;
  static final int KEY = 2;
  static final int INDEX = 3;
  static final int MANIFEST = 4;
  static final int PAGE = 5;
  static final int TRAILER = 6;

  private Envelope() {}

  static String typeName(int type) {
    return switch (type) {
      case CONFIG -> "config";
      case KEY -> "key";
      case INDEX -> "index";
      case MANIFEST -> "point manifest";
      case PAGE -> "page";
      case TRAILER -> "pack trailer";
      default -> "type " + type;
    };
  }

  /** Returns the framed object holding {@code body}, sealed with {@code aead} unless it is null. */
  static byte[] write(int type, int version, ByteBuffer body, Aead aead, String objectKey) {
    int plainLength = body.remaining();
    int bodyLength = aead == null ? plainLength : plainLength + Aead.OVERHEAD;
    byte[] out = new byte[HEADER_BYTES + bodyLength + CRC_BYTES];
    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.BIG_ENDIAN);
    b.putInt(MAGIC).put((byte) type).put((byte) version).put((byte) (aead == null ? 0 : FLAG_SEALED)).put((byte) 0);
    b.putInt(bodyLength);
    if (aead == null) {
      b.put(body.duplicate());
    } else {
      byte[] plain = new byte[plainLength];
      body.duplicate().get(plain);
      aead.seal(plain, 0, plainLength, aad(out, objectKey), out, HEADER_BYTES);
    }
    CRC32C crc = new CRC32C();
    crc.update(out, 0, HEADER_BYTES + bodyLength);
    ByteBuffer.wrap(out, HEADER_BYTES + bodyLength, CRC_BYTES).putInt((int) crc.getValue());
    return out;
  }

  /**
   * Checks the frame of {@code length} bytes of {@code obj} from {@code offset} and returns its body
   * (opened when sealed), big-endian.
   *
   * @param aead the key the body must be sealed with, or null if it must be plain
   */
  static ByteBuffer read(byte[] obj, int offset, int length, int type, int maxVersion, Aead aead, String objectKey)
      throws CorruptObjectException, UnsupportedFormatException {
    String what = typeName(type);
    if (length < HEADER_BYTES + CRC_BYTES) {
      throw corrupt(objectKey, what, "object of " + length + " bytes is shorter than its " + (HEADER_BYTES + CRC_BYTES)
          + "-byte frame");
    }
    ByteBuffer b = ByteBuffer.wrap(obj, offset, length).order(ByteOrder.BIG_ENDIAN);
    int magic = b.getInt();
    if (magic != MAGIC) {
      throw corrupt(objectKey, what, String.format("magic 0x%08x, expected 0x%08x (\"VSBR\")", magic, MAGIC));
    }
    int foundType = b.get() & 0xff;
    int version = b.get() & 0xff;
    int flags = b.get() & 0xff;
    b.get();
    long bodyLength = b.getInt() & 0xffffffffL;
    if (bodyLength != length - HEADER_BYTES - CRC_BYTES) {
      throw corrupt(objectKey, what, "body length " + bodyLength + " but the object holds "
          + (length - HEADER_BYTES - CRC_BYTES) + " bytes of body");
    }
    CRC32C crc = new CRC32C();
    crc.update(obj, offset, HEADER_BYTES + (int) bodyLength);
    int stored = ByteBuffer.wrap(obj, offset + length - CRC_BYTES, CRC_BYTES).getInt();
    if (stored != (int) crc.getValue()) {
      throw corrupt(objectKey, what, String.format("CRC32C 0x%08x, computed 0x%08x", stored, (int) crc.getValue()));
    }
    if (foundType != type) {
      throw corrupt(objectKey, what, "object type " + typeName(foundType) + ", expected " + what);
    }
    if (version < 1 || version > maxVersion) {
      throw new UnsupportedFormatException(objectKey, "backup repository " + what, version, 1, maxVersion);
    }
    boolean sealed = (flags & FLAG_SEALED) != 0;
    if (sealed != (aead != null)) {
      throw corrupt(objectKey, what, sealed ? "body is encrypted but the repository is not"
          : "body is not encrypted but the repository is");
    }
    if (!sealed) {
      return ByteBuffer.wrap(obj, offset + HEADER_BYTES, (int) bodyLength).slice().order(ByteOrder.BIG_ENDIAN);
    }
    byte[] header = new byte[HEADER_BYTES];
    System.arraycopy(obj, offset, header, 0, HEADER_BYTES);
    try {
      byte[] plain = aead.open(obj, offset + HEADER_BYTES, (int) bodyLength, aad(header, objectKey));
      return ByteBuffer.wrap(plain).order(ByteOrder.BIG_ENDIAN);
    } catch (AEADBadTagException e) {
      throw corrupt(objectKey, what, "authentication failed (altered, or sealed under another key or object key)");
    }
  }

  private static byte[] aad(byte[] headerSource, String objectKey) {
    byte[] key = objectKey.getBytes(StandardCharsets.UTF_8);
    byte[] aad = new byte[HEADER_BYTES + key.length];
    System.arraycopy(headerSource, 0, aad, 0, HEADER_BYTES);
    System.arraycopy(key, 0, aad, HEADER_BYTES, key.length);
    return aad;
  }

  static CorruptObjectException corrupt(String objectKey, String what, String detail) {
    return new CorruptObjectException("bad backup repository: " + what + " " + objectKey + ": " + detail);
  }

  /** Fails with a clear message unless {@code body} has at least {@code n} more bytes. */
  static void need(ByteBuffer body, long n, String objectKey, String what, String field) throws CorruptObjectException {
    if (n < 0 || body.remaining() < n) {
      throw corrupt(objectKey, what, field + " needs " + n + " bytes but " + body.remaining() + " remain");
    }
  }

  /** Writes a nullable string as u16 length (0xffff = null) and UTF-8 bytes. */
  static void putString(ByteBuffer b, String s) {
    if (s == null) {
      b.putShort((short) 0xffff);
      return;
    }
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length >= 0xffff) {
      throw new IllegalArgumentException("string of " + bytes.length + " bytes is too long to store");
    }
    b.putShort((short) bytes.length).put(bytes);
  }

  static int stringBytes(String s) {
    return 2 + (s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length);
  }

  /** Reads what {@link #putString} wrote, bounds-checked. */
  static String getString(ByteBuffer b, String objectKey, String what, String field) throws CorruptObjectException {
    need(b, 2, objectKey, what, field);
    int n = b.getShort() & 0xffff;
    if (n == 0xffff) {
      return null;
    }
    need(b, n, objectKey, what, field);
    byte[] bytes = new byte[n];
    b.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
