package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CorruptImageException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A VMDK text descriptor: header keys ({@code version}, {@code CID}, {@code parentCID},
 * {@code createType}, {@code parentFileNameHint}), extent lines and the disk database
 * ({@code ddb.*}).
 *
 * <pre>
 * # Disk DescriptorFile
 * version=1
 * CID=fffffffe
 * parentCID=ffffffff
 * createType="monolithicSparse"
 *
 * # Extent description
 * RW 16777216 SPARSE "test1.vmdk"
 *
 * # The Disk Data Base
 * #DDB
 * ddb.adapterType = "ide"
 * </pre>
 *
 * @param version the descriptor version (1 for every known producer)
 * @param cid content id, changed by writers so children can tell their parent changed
 * @param parentCid the parent's content id when the child was made, {@link #NO_PARENT} if none
 * @param createType the subformat (monolithicSparse, streamOptimized, vmfs, ...)
 * @param parentFileNameHint the parent's descriptor path, or null
 * @param extents the extents in guest order
 * @param ddb the disk database entries in file order
 * @param otherKeys other header keys ({@code encoding}, {@code isNativeSnapshot}, ...) kept so a
 *     rewritten descriptor loses nothing VMware wrote
 */
record Descriptor(
    int version, long cid, long parentCid, String createType, String parentFileNameHint, List<ExtentLine> extents,
    Map<String, String> ddb, Map<String, String> otherKeys) {

  /** parentCID value meaning "no parent". */
  static final long NO_PARENT = 0xffffffffL;
  /** Largest descriptor accepted, in bytes; real ones are well under 4 KiB. */
  static final int MAX_SIZE = 1 << 20;
  /** Largest number of extent lines accepted. */
  static final int MAX_EXTENTS = 1 << 16;
  /** First line qemu and VMware write; not required on read (some converters write another comment). */
  static final String SIGNATURE = "# Disk DescriptorFile";

  Descriptor {
    extents = List.copyOf(extents);
    ddb = Collections.unmodifiableMap(new LinkedHashMap<>(ddb));
    otherKeys = Collections.unmodifiableMap(new LinkedHashMap<>(otherKeys));
  }

  /**
   * Parses descriptor text; {@code source} names the file in errors. Text after the first NUL is
   * ignored (an embedded descriptor is padded with zeros).
   */
  static Descriptor parse(String text, String source) throws CorruptImageException {
    int nul = text.indexOf('\0');
    if (nul >= 0) {
      text = text.substring(0, nul);
    }
    if (text.length() > MAX_SIZE) {
      throw new CorruptImageException("bad vmdk: " + source + ": descriptor of " + text.length() + " bytes exceeds " + MAX_SIZE);
    }
    Integer version = null;
    Long cid = null;
    long parentCid = NO_PARENT;
    String createType = null;
    String hint = null;
    List<ExtentLine> extents = new ArrayList<>();
    Map<String, String> ddb = new LinkedHashMap<>();
    Map<String, String> other = new LinkedHashMap<>();
    for (String raw : text.split("\r?\n|\r")) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String upper = line.toUpperCase(Locale.ROOT);
      if (upper.startsWith("RW ") || upper.startsWith("RDONLY ") || upper.startsWith("NOACCESS ")) {
        if (extents.size() >= MAX_EXTENTS) {
          throw new CorruptImageException("bad vmdk: " + source + ": more than " + MAX_EXTENTS + " extents");
        }
        extents.add(ExtentLine.parse(line, source));
        continue;
      }
      int eq = line.indexOf('=');
      if (eq <= 0) {
        throw new CorruptImageException("bad vmdk: " + source + ": descriptor line '" + abbreviate(line) + "' is neither key=value nor an extent");
      }
      String key = line.substring(0, eq).strip();
      String value = unquote(line.substring(eq + 1).strip());
      if (key.startsWith("ddb.")) {
        ddb.put(key, value);
        continue;
      }
      switch (key) {
        case "version" -> version = (int) parseLong(value, 10, source, key, 1000);
        case "CID" -> cid = parseLong(value, 16, source, key, 0xffffffffL);
        case "parentCID" -> parentCid = parseLong(value, 16, source, key, 0xffffffffL);
        case "createType" -> createType = value;
        case "parentFileNameHint" -> hint = value;
        default -> other.put(key, value); // encoding, isNativeSnapshot, vendor keys: kept for rewriting
      }
    }
    if (createType == null) {
      throw new CorruptImageException("bad vmdk: " + source + ": descriptor has no createType");
    }
    if (extents.isEmpty()) {
      throw new CorruptImageException("bad vmdk: " + source + ": descriptor has no extent lines");
    }
    return new Descriptor(version == null ? 1 : version, cid == null ? 0 : cid, parentCid, createType, hint, extents, ddb,
        other);
  }

  private static String abbreviate(String line) {
    return line.length() > 60 ? line.substring(0, 60) + "..." : line;
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }

  private static long parseLong(String v, int radix, String source, String key, long max) throws CorruptImageException {
    try {
      long n = Long.parseLong(v, radix);
      if (n < 0 || n > max) {
        throw new CorruptImageException("bad vmdk: " + source + ": " + key + " " + v + " out of range");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new CorruptImageException("bad vmdk: " + source + ": " + key + " '" + abbreviate(v) + "' is not a number");
    }
  }

  /** Returns the virtual size in sectors: the sum of the extents. */
  long sectors() {
    long total = 0;
    for (ExtentLine e : extents) {
      total += e.sectors();
    }
    return total;
  }

  /** Returns whether the descriptor names a parent. */
  boolean hasParent() {
    return parentCid != NO_PARENT || parentFileNameHint != null;
  }

  /** Returns a copy with another content id. */
  Descriptor withCid(long newCid) {
    return new Descriptor(version, newCid, parentCid, createType, parentFileNameHint, extents, ddb, otherKeys);
  }

  /** Returns a copy naming parent {@code hint} with content id {@code cid} (null, {@link #NO_PARENT}: none). */
  Descriptor withParent(String hint, long cid) {
    return new Descriptor(version, this.cid, cid, createType, hint, extents, ddb, otherKeys);
  }

  /** Returns the descriptor text in the layout qemu and VMware write. */
  String toText() {
    StringBuilder b = new StringBuilder();
    b.append(SIGNATURE).append('\n');
    b.append("version=").append(version).append('\n');
    b.append("CID=").append(String.format("%08x", cid)).append('\n');
    b.append("parentCID=").append(String.format("%08x", parentCid)).append('\n');
    otherKeys.forEach((k, v) -> b.append(k).append("=\"").append(v).append("\"\n"));
    b.append("createType=\"").append(createType).append("\"\n");
    if (parentFileNameHint != null) {
      b.append("parentFileNameHint=\"").append(parentFileNameHint).append("\"\n");
    }
    b.append("\n# Extent description\n");
    for (ExtentLine e : extents) {
      b.append(e.toText()).append('\n');
    }
    b.append("\n# The Disk Data Base\n#DDB\n\n");
    ddb.forEach((k, v) -> b.append(k).append(" = \"").append(v).append("\"\n"));
    return b.toString();
  }
}
