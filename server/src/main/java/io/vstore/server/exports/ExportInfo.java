package io.vstore.server.exports;

import io.vstore.nbd.NbdClient;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * An export as the API shows it.
 *
 * @param name the export name clients ask for
 * @param spec {@code VOLUME}, {@code VOLUME@SNAP} or the image file's absolute path
 * @param kind {@code volume}, {@code snapshot} or {@code file}
 * @param datastore the datastore the export belongs to (and whose {@code exports.json} keeps it)
 * @param size the device size in bytes
 * @param readOnly whether writes are refused
 * @param dirtyBitmaps change ids offered as {@code qemu:dirty-bitmap:CHANGEID} contexts
 * @param uri the NBD URI clients connect to
 * @param clients the clients attached now
 */
public record ExportInfo(String name, String spec, String kind, String datastore, long size, boolean readOnly,
    List<String> dirtyBitmaps, String uri, List<Client> clients) {

  /**
   * A connected client.
   *
   * @param id the connection number, unique while the daemon runs
   * @param remote the client's address and port
   * @param connectedSince when it attached, ISO-8601
   * @param tls whether the connection is encrypted
   * @param bytesRead bytes it asked to read so far
   * @param bytesWritten bytes it wrote so far
   */
  public record Client(long id, String remote, String connectedSince, boolean tls, long bytesRead, long bytesWritten) {
    /** Returns the API view of {@code c}. */
    static Client of(NbdClient c) {
      return new Client(c.id(), address(c.remote()), c.since().toString(), c.tls(), c.bytesRead(), c.bytesWritten());
    }
  }

  /** Formats {@code a} as {@code host:port}, an IPv6 host in brackets. */
  static String address(InetSocketAddress a) {
    String host = a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }
}
