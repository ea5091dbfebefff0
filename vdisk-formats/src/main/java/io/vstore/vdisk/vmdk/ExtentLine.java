package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CorruptImageException;
import java.util.Locale;

/**
 * One extent line of a VMDK descriptor: {@code RW 20480 SPARSE "disk.vmdk"} or
 * {@code RW 4096 FLAT "disk-flat.vmdk" 0}.
 *
 * @param access how the extent may be used
 * @param sectors the extent's size in 512-byte sectors
 * @param type the extent's kind
 * @param fileName the extent file relative to the descriptor, or null for ZERO extents
 * @param offset the start of the data inside a flat file, in sectors (0 for other kinds)
 */
record ExtentLine(Access access, long sectors, Type type, String fileName, long offset) {

  /** Largest extent size accepted, in sectors (2^53 bytes: far beyond any real disk). */
  static final long MAX_SECTORS = 1L << 44;

  /** Access mode of an extent. */
  enum Access { RW, RDONLY, NOACCESS }

  /** Kind of an extent as the descriptor names it. */
  enum Type { SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, VMFSRDM, VMFSRAW, SESPARSE }

  ExtentLine {
    if (sectors < 0 || sectors > MAX_SECTORS || offset < 0 || offset > MAX_SECTORS) {
      throw new IllegalArgumentException("extent size " + sectors + " offset " + offset);
    }
  }

  /** Parses one extent line; {@code source} names the descriptor in errors. */
  static ExtentLine parse(String line, String source) throws CorruptImageException {
    String[] head = line.trim().split("\\s+", 3);
    if (head.length < 3) {
      throw new CorruptImageException("bad vmdk: " + source + ": extent line '" + line + "' has too few fields");
    }
    Access access;
    Type type;
    try {
      access = Access.valueOf(head[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new CorruptImageException("bad vmdk: " + source + ": extent access '" + head[0] + "' is not RW, RDONLY or NOACCESS");
    }
    long sectors = parseNumber(head[1], source, "extent size");
    String rest = head[2].trim();
    int space = rest.indexOf(' ');
    String typeName = space < 0 ? rest : rest.substring(0, space);
    try {
      type = Type.valueOf(typeName.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new CorruptImageException("bad vmdk: " + source + ": unknown extent type '" + typeName + "'");
    }
    rest = space < 0 ? "" : rest.substring(space + 1).trim();
    String fileName = null;
    long offset = 0;
    if (type == Type.ZERO) {
      return new ExtentLine(access, sectors, type, null, 0);
    }
    if (!rest.startsWith("\"")) {
      throw new CorruptImageException("bad vmdk: " + source + ": extent line '" + line + "' lacks a quoted file name");
    }
    int close = rest.indexOf('"', 1);
    if (close < 0) {
      throw new CorruptImageException("bad vmdk: " + source + ": extent line '" + line + "' has an unterminated file name");
    }
    fileName = rest.substring(1, close);
    if (fileName.isEmpty()) {
      throw new CorruptImageException("bad vmdk: " + source + ": extent line '" + line + "' has an empty file name");
    }
    String tail = rest.substring(close + 1).trim();
    if (!tail.isEmpty()) {
      // A trailing partition UUID follows the offset on VMFSRDM lines; only the offset matters.
      offset = parseNumber(tail.split("\\s+")[0], source, "extent offset");
    }
    return new ExtentLine(access, sectors, type, fileName, offset);
  }

  private static long parseNumber(String s, String source, String what) throws CorruptImageException {
    try {
      long v = Long.parseLong(s);
      if (v < 0 || v > MAX_SECTORS) {
        throw new CorruptImageException("bad vmdk: " + source + ": " + what + " " + s + " out of range (0.." + MAX_SECTORS + ")");
      }
      return v;
    } catch (NumberFormatException e) {
      throw new CorruptImageException("bad vmdk: " + source + ": " + what + " '" + s + "' is not a number");
    }
  }

  /** Returns the line as VMware writes it. */
  String toText() {
    StringBuilder b = new StringBuilder().append(access).append(' ').append(sectors).append(' ').append(type);
    if (type != Type.ZERO) {
      b.append(" \"").append(fileName).append('"');
      if (type == Type.FLAT) {
        b.append(' ').append(offset);
      }
    }
    return b.toString();
  }
}
