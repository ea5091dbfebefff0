package io.vstore.blockstore;

import java.io.IOException;

/**
 * Thrown when a file or record was written in a version of one of vstore's formats that this
 * vstore does not read, typically by a newer vstore. Not corruption: the bytes are intact, and a
 * vstore that supports the version reads them. The message names the file (or record), the
 * format's codec name, the version found and the supported range.
 */
public final class UnsupportedFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String codec;
  private final long version;
  private final int minVersion;
  private final int maxVersion;

  /** Creates the error for {@code resource}, of format {@code codec}, found at {@code version}. */
  public UnsupportedFormatException(String resource, String codec, long version, int minVersion, int maxVersion) {
    super("unsupported " + codec + ": " + resource + " has version " + version + " (supported " + minVersion + "-"
        + maxVersion + ")" + (version > maxVersion ? "; it was written by a newer vstore" : ""));
    this.codec = codec;
    this.version = version;
    this.minVersion = minVersion;
    this.maxVersion = maxVersion;
  }

  /** Returns the codec name of the format. */
  public String codec() {
    return codec;
  }

  /** Returns the version found. */
  public long version() {
    return version;
  }

  /** Returns the oldest version supported. */
  public int minVersion() {
    return minVersion;
  }

  /** Returns the newest version supported. */
  public int maxVersion() {
    return maxVersion;
  }
}
