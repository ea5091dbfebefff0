package io.vstore.ovf.pkg;

import java.util.Objects;

/**
 * One {@code File} of a descriptor's References section, as the package layer needs it.
 *
 * @param id the {@code ovf:id}
 * @param href the {@code ovf:href}: a relative name inside the package (checked by {@link OvfPackage})
 * @param size the {@code ovf:size} in bytes as stored in the package (the compressed size for gzip
 *     files, the sum of the chunks for chunked ones), or -1 when the descriptor gives none
 * @param chunkSize the {@code ovf:chunkSize}, or 0 when the file is stored whole
 * @param compression the {@code ovf:compression}: {@code null} or {@code "identity"} for none, {@code "gzip"}
 */
public record FileRef(String id, String href, long size, long chunkSize, String compression) {

  /** Checks the values a descriptor can get wrong. */
  public FileRef {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(href, "href");
    if (chunkSize < 0) {
      throw new IllegalArgumentException("file " + id + ": chunk size " + chunkSize + " is negative");
    }
    if (compression != null && !compression.equals("gzip") && !compression.equals("identity")) {
      throw new IllegalArgumentException("file " + id + ": compression '" + compression + "' is not gzip or identity");
    }
  }

  /** Returns a plain file reference: stored whole, uncompressed. */
  public static FileRef plain(String id, String href, long size) {
    return new FileRef(id, href, size, 0, null);
  }

  /** Returns whether the file is gzip-compressed in the package. */
  public boolean gzip() {
    return "gzip".equals(compression);
  }

  /** Returns whether the file is stored as {@code href.000000000}, {@code href.000000001}, …. */
  public boolean chunked() {
    return chunkSize > 0;
  }

  /** Returns the member name of chunk {@code index}: {@code href} and a nine-digit index. */
  public String chunkName(int index) {
    return String.format("%s.%09d", href, index);
  }
}
