package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import java.util.zip.CRC32C;

/**
 * One of vstore's own formats (segment files, records, the datastore descriptor) and the checks
 * every reader of it makes, in the order Lucene's CodecUtil makes them: the magic first (else the
 * bytes are not this format at all), then the version against the range this vstore reads (else
 * the data is from another vstore, reported as unsupported, not as corruption), then the CRC32C
 * checksum (else the data is corrupt). The version comes before the checksum because a newer
 * version may checksum differently; its place right after the magic is the one thing every
 * version of a format keeps.
 *
 * <p>The checks allocate nothing unless they fail: record headers are checked on every uncached
 * read. {@code where} names the file or record in errors and is built only then.
 */
final class FormatCodec {
  private final String name;
  private final String kind;
  private final byte[] magic;
  private final int minVersion;
  private final int maxVersion;

  /**
   * Creates a format named {@code name} (as in errors and in JSON files), whose files or records are
   * called {@code kind} in errors, starting with {@code magic} (ASCII, empty for JSON), read in
   * versions {@code minVersion} to {@code maxVersion} and written in {@code maxVersion}.
   */
  FormatCodec(String name, String kind, String magic, int minVersion, int maxVersion) {
    if (minVersion < 0 || minVersion > maxVersion) {
      throw new IllegalArgumentException("version range " + minVersion + "-" + maxVersion + " of " + name);
    }
    this.name = name;
    this.kind = kind;
    this.magic = magic.getBytes(StandardCharsets.US_ASCII);
    this.minVersion = minVersion;
    this.maxVersion = maxVersion;
  }

  /** Returns the codec name. */
  String name() {
    return name;
  }

  /** Returns the version this vstore writes: the newest it reads. */
  int version() {
    return maxVersion;
  }

  /** Returns the oldest version this vstore reads. */
  int minVersion() {
    return minVersion;
  }

  /** Returns the magic's length in bytes. */
  int magicBytes() {
    return magic.length;
  }

  /** Writes the magic at absolute offset {@code at} of {@code b}. */
  void putMagic(ByteBuffer b, int at) {
    b.put(at, magic);
  }

  /** Returns whether {@code b} holds the magic at absolute offset {@code at}. */
  boolean hasMagic(ByteBuffer b, int at) {
    if (b.limit() - at < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (b.get(at + i) != magic[i]) {
        return false;
      }
    }
    return true;
  }

  /** Checks the magic at absolute offset {@code at} of {@code b}: a mismatch means {@code where} is not this format. */
  void checkMagic(ByteBuffer b, int at, Supplier<String> where) throws CorruptDataException {
    if (!hasMagic(b, at)) {
      byte[] found = new byte[Math.max(0, Math.min(magic.length, b.limit() - at))];
      b.get(at, found);
      throw new CorruptDataException("bad " + kind + ": " + where.get() + " is not a vstore " + kind + " (magic "
          + hex(found) + ", expected " + hex(magic) + " \"" + new String(magic, StandardCharsets.US_ASCII) + "\")");
    }
  }

  /** Returns whether this vstore reads {@code version}. */
  boolean supports(long version) {
    return version >= minVersion && version <= maxVersion;
  }

  /** Returns {@code found} if this vstore reads that version; else throws naming {@code where}. */
  int checkVersion(long found, Supplier<String> where) throws UnsupportedFormatException {
    if (!supports(found)) {
      throw new UnsupportedFormatException(where.get(), name, found, minVersion, maxVersion);
    }
    return (int) found;
  }

  /**
   * Throws a corruption error naming {@code where} and its {@code part} ("header") unless the
   * {@code stored} checksum equals the {@code computed} one.
   */
  void checkChecksum(int stored, int computed, Supplier<String> where, String part) throws CorruptDataException {
    if (stored != computed) {
      throw new CorruptDataException(String.format("bad %s: %s %s checksum 0x%08x, computed 0x%08x", kind, where.get(),
          part, stored, computed));
    }
  }

  /** Returns the CRC32C of {@code b}'s bytes from absolute offset {@code from} to {@code to}. */
  static int checksum(ByteBuffer b, int from, int to) {
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().limit(to).position(from));
    return (int) crc.getValue();
  }

  private static String hex(byte[] bytes) {
    StringBuilder s = new StringBuilder("0x");
    for (byte x : bytes) {
      s.append(String.format("%02x", x));
    }
    return s.toString();
  }

  @Override
  public String toString() {
    return name + " " + minVersion + "-" + maxVersion;
  }
}
