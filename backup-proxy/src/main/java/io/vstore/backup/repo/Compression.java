package io.vstore.backup.repo;

/**
 * How a repository compresses new chunks (recorded in its config; every blob also says how it was
 * stored, so a reader never depends on the setting). bench/RESULTS.md has the measurements behind
 * the default.
 */
public enum Compression {
  /** Zstandard level 1: close to LZ4's speed with a better ratio on VM data. */
  ZSTD(1),
  /** Zstandard level 3: a little smaller, about half as fast to compress. */
  ZSTD3(2),
  /** LZ4 (fast): the fastest, the largest output. */
  LZ4(3),
  /** Stored raw: for data known to be incompressible (encrypted guests). */
  NONE(4);

  private final int code;

  Compression(int code) {
    this.code = code;
  }

  int code() {
    return code;
  }

  static Compression ofCode(int code) {
    for (Compression c : values()) {
      if (c.code == code) {
        return c;
      }
    }
    return null;
  }
}
