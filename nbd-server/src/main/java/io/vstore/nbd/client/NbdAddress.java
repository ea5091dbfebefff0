package io.vstore.nbd.client;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;

/**
 * Where an NBD export is: {@code nbd://HOST[:PORT]/EXPORT}, or {@code nbds://...} to require TLS.
 *
 * @param host the server's host name or address
 * @param port the TCP port (10809 when the URI names none)
 * @param export the export name (empty for the server's default export)
 * @param tls whether STARTTLS is required before the export is opened
 */
public record NbdAddress(String host, int port, String export, boolean tls) {
  /** The NBD port registered with IANA. */
  public static final int DEFAULT_PORT = 10809;

  /** Checks the parts. */
  public NbdAddress {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(export, "export");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("bad NBD address: no host");
    }
    if (port <= 0 || port > 65535) {
      throw new IllegalArgumentException("bad NBD address: port " + port + " is not in 1..65535");
    }
    if (export.length() > 4096) {
      throw new IllegalArgumentException("bad NBD address: export name longer than 4096 bytes");
    }
  }

  /** Returns whether {@code text} looks like an NBD URI rather than a path or name. */
  public static boolean isUri(String text) {
    return text.startsWith("nbd://") || text.startsWith("nbds://");
  }

  /** Parses {@code nbd://HOST[:PORT]/EXPORT} or {@code nbds://...}; one clear message when malformed. */
  public static NbdAddress parse(String text) {
    if (!isUri(text)) {
      throw new IllegalArgumentException("bad NBD address: '" + text + "' does not start with nbd:// or nbds://");
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("bad NBD address: '" + text + "': " + e.getReason(), e);
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("bad NBD address: '" + text + "' names no host");
    }
    if (uri.getRawQuery() != null) {
      throw new IllegalArgumentException("bad NBD address: '" + text + "': query parameters are not supported");
    }
    String path = uri.getPath() == null ? "" : uri.getPath();
    String export = path.startsWith("/") ? path.substring(1) : path;
    String host = uri.getHost().startsWith("[") ? uri.getHost().substring(1, uri.getHost().length() - 1) : uri.getHost();
    return new NbdAddress(host, uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort(), export, uri.getScheme().equals("nbds"));
  }

  @Override
  public String toString() {
    String h = host.contains(":") ? "[" + host + "]" : host;
    return (tls ? "nbds://" : "nbd://") + h + ":" + port + "/" + export;
  }
}
