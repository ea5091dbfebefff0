package io.vstore.ovf.pkg;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A package's manifest ({@code .mf}): one digest per file, in either spelling tools write,
 * {@code SHA256(name)= hex} (ovftool) or {@code SHA256 (name) = hex} (coreutils {@code --tag}),
 * with LF or CRLF line ends; the algorithm may differ from line to line.
 */
public final class Manifest {
  /** Largest manifest read: 16 KiB lines would be 10,000 files, far more than any package holds. */
  public static final int MAX_SIZE = 1 << 20;
  /** Most entries a manifest may hold. */
  static final int MAX_ENTRIES = 10_000;

  private static final Pattern LINE =
      Pattern.compile("([A-Za-z0-9-]+) ?\\((.+)\\) ?= ?([0-9A-Fa-f]+)");

  /** One line: the file's name, the algorithm and its digest (lower-case hex). */
  public record Entry(String name, DigestAlgorithm algorithm, String hex) {
    /** Checks the digest's length against the algorithm. */
    public Entry {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(algorithm, "algorithm");
      if (hex.length() != algorithm.hexLength()) {
        throw new IllegalArgumentException(algorithm + " digest of " + name + " has " + hex.length() + " hex digits");
      }
    }
  }

  private final Map<String, Entry> entries;

  private Manifest(Map<String, Entry> entries) {
    this.entries = Collections.unmodifiableMap(entries);
  }

  /** Returns a manifest of {@code entries} (in their order). */
  public static Manifest of(Iterable<Entry> entries) {
    Map<String, Entry> m = new LinkedHashMap<>();
    for (Entry e : entries) {
      if (m.put(e.name(), e) != null) {
        throw new IllegalArgumentException("file " + e.name() + " listed twice");
      }
    }
    return new Manifest(m);
  }

  /**
   * Parses the manifest bytes {@code bytes} of the manifest named {@code name} (in messages).
   *
   * @throws PackageException "bad manifest: NAME line N: ..." for anything not a digest line
   */
  public static Manifest parse(String name, byte[] bytes) throws PackageException {
    if (bytes.length > MAX_SIZE) {
      throw new PackageException("bad manifest: " + name + " is " + bytes.length + " bytes, more than " + MAX_SIZE);
    }
    String text = new String(bytes, StandardCharsets.UTF_8);
    if (text.startsWith("\uFEFF")) {
      text = text.substring(1);
    }
    Map<String, Entry> m = new LinkedHashMap<>();
    String[] lines = text.split("\r?\n|\r", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty()) {
        continue;
      }
      String where = "bad manifest: " + name + " line " + (i + 1) + ": ";
      Matcher mt = LINE.matcher(line);
      if (!mt.matches()) {
        throw new PackageException(where + "not 'ALGORITHM(file)= digest': '" + PackageNames.printable(line) + "'");
      }
      DigestAlgorithm alg = DigestAlgorithm.byManifestName(mt.group(1).toUpperCase(java.util.Locale.ROOT));
      if (alg == null) {
        throw new PackageException(where + "unsupported digest '" + PackageNames.printable(mt.group(1))
            + "' (SHA1, SHA256 or SHA512)");
      }
      String file = PackageNames.check(name, "manifest entry", mt.group(2));
      String hex = mt.group(3).toLowerCase(java.util.Locale.ROOT);
      if (hex.length() != alg.hexLength()) {
        throw new PackageException(where + alg + " digest of " + PackageNames.printable(file) + " has " + hex.length()
            + " hex digits, not " + alg.hexLength());
      }
      if (m.size() >= MAX_ENTRIES) {
        throw new PackageException(where + "more than " + MAX_ENTRIES + " entries");
      }
      if (m.put(file, new Entry(file, alg, hex)) != null) {
        throw new PackageException(where + "file " + PackageNames.printable(file) + " is listed twice");
      }
    }
    if (m.isEmpty()) {
      throw new PackageException("bad manifest: " + name + " lists no files");
    }
    return new Manifest(m);
  }

  /** Returns the entries by file name, in manifest order. */
  public Map<String, Entry> entries() {
    return entries;
  }

  /** Returns the entry for {@code file}, or null when the manifest does not list it. */
  public Entry entry(String file) {
    return entries.get(file);
  }

  /** Returns the manifest as ovftool writes it: {@code SHA256(name)= hex} lines ending in LF. */
  public byte[] toBytes() {
    StringBuilder sb = new StringBuilder();
    for (Entry e : entries.values()) {
      sb.append(e.algorithm().name()).append('(').append(e.name()).append(")= ").append(e.hex()).append('\n');
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Returns {@code digest} as lower-case hex. */
  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }
}
