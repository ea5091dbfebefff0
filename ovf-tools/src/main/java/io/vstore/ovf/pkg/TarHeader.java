package io.vstore.ovf.pkg;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The headers of a tar member as the OVA writer lays them out: one ustar block, preceded by a
 * pax extended header (two blocks) when the member needs one. A streamed member always gets the
 * pax header, because its size is known only after its data is written into the space behind the
 * header, and a pax size record holds any size (the ustar size field stops below 8 GiB).
 *
 * <pre>
 * ustar block (512 bytes, numbers octal, NUL-terminated):
 *   0 name[100]  100 mode[8]  108 uid[8]  116 gid[8]  124 size[12]  136 mtime[12]
 * 148 chksum[8]  156 typeflag  157 linkname[100]  257 "ustar\0"  263 "00"
 * 265 uname[32]  297 gname[32]  329 devmajor[8]  337 devminor[8]  345 prefix[155]
 * </pre>
 */
final class TarHeader {
  /** Bytes of a tar block. */
  static final int BLOCK = 512;
  /** Bytes a streamed member's headers take: pax header, pax records, ustar header. */
  static final int STREAMED = 3 * BLOCK;
  private static final long MAX_OCTAL_SIZE = 077777777777L;
  private static final int NAME = 100;

  private TarHeader() {}

  /** Returns how many bytes {@link #write} uses for a member named {@code name} ({@code pax} forced or not). */
  static int length(String name, boolean pax) {
    return pax || needsPax(name, 0) ? STREAMED : BLOCK;
  }

  private static boolean needsPax(String name, long size) {
    return name.getBytes(StandardCharsets.UTF_8).length > NAME || size > MAX_OCTAL_SIZE || !isAscii(name);
  }

  private static boolean isAscii(String s) {
    return s.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
  }

  /**
   * Returns the header blocks of a regular file member {@code name} of {@code size} bytes,
   * with a pax header when {@code pax} or when the name or size need one.
   */
  static ByteBuffer write(String name, long size, long mtimeSeconds, boolean pax) {
    boolean withPax = pax || needsPax(name, size);
    ByteBuffer b = ByteBuffer.allocate(withPax ? STREAMED : BLOCK);
    if (withPax) {
      StringBuilder records = new StringBuilder();
      if (!isAscii(name) || name.getBytes(StandardCharsets.UTF_8).length > NAME) {
        records.append(record("path", name));
      }
      records.append(record("size", Long.toString(size)));
      byte[] data = records.toString().getBytes(StandardCharsets.UTF_8);
      if (data.length > BLOCK) {
        throw new IllegalArgumentException("member name too long for one pax block: " + name);
      }
      String shortName = shortName(name);
      String paxName = "PaxHeaders/" + shortName.substring(Math.max(0, shortName.length() - (NAME - 11)));
      ustar(b, 0, paxName, data.length, mtimeSeconds, (byte) 'x');
      b.put(BLOCK, data);
    }
    ustar(b, withPax ? 2 * BLOCK : 0, shortName(name), size, mtimeSeconds, (byte) '0');
    return b;
  }

  /** Returns what fits the ustar name field: the name, or its last 100 bytes' worth when a pax path record holds it. */
  private static String shortName(String name) {
    String n = isAscii(name) ? name : name.replaceAll("[^\\x20-\\x7e]", "_");
    return n.length() > NAME ? n.substring(n.length() - NAME) : n;
  }

  /** One pax record: "LEN key=value\n", LEN counting itself. */
  private static String record(String key, String value) {
    int body = key.length() + value.getBytes(StandardCharsets.UTF_8).length + 3; // ' ', '=', '\n'
    int len = body + Integer.toString(body).length();
    if (Integer.toString(len).length() != Integer.toString(body).length()) {
      len++;
    }
    return len + " " + key + "=" + value + "\n";
  }

  private static void ustar(ByteBuffer b, int at, String name, long size, long mtime, byte type) {
    put(b, at, name, NAME);
    put(b, at + 100, "0000644", 8);
    put(b, at + 108, "0000000", 8);
    put(b, at + 116, "0000000", 8);
    if (size <= MAX_OCTAL_SIZE) {
      put(b, at + 124, String.format("%011o", size), 12);
    } else {
      // GNU base-256: high bit set, big-endian binary; the pax size record says the same.
      b.put(at + 124, (byte) 0x80);
      for (int i = 0; i < 8; i++) {
        b.put(at + 135 - i, (byte) (size >>> (8 * i)));
      }
    }
    put(b, at + 136, String.format("%011o", mtime), 12);
    b.put(at + 156, type);
    put(b, at + 257, "ustar", 6);
    b.put(at + 263, (byte) '0').put(at + 264, (byte) '0');
    put(b, at + 265, "root", 32);
    put(b, at + 297, "root", 32);
    for (int i = 0; i < 8; i++) {
      b.put(at + 148 + i, (byte) ' ');
    }
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += b.get(at + i) & 0xff;
    }
    put(b, at + 148, String.format("%06o", sum), 7);
    b.put(at + 154, (byte) 0);
    b.put(at + 155, (byte) ' ');
  }

  private static void put(ByteBuffer b, int at, String s, int field) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > field) {
      throw new IllegalArgumentException("tar field of " + field + " bytes cannot hold '" + s + "'");
    }
    b.put(at, bytes);
  }
}
