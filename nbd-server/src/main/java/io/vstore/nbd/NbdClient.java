package io.vstore.nbd;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Objects;

/**
 * A client connected to an export, as of the moment this record was taken.
 *
 * @param id a number unique among the server's connections, in the order they were accepted
 * @param export the name of the export the client is attached to
 * @param remote the client's address and port
 * @param since when the client finished negotiating and began using the export
 * @param tls whether the connection is encrypted
 * @param bytesRead bytes of the read requests accepted from the client so far
 * @param bytesWritten bytes of write payloads received from the client so far
 */
public record NbdClient(long id, String export, InetSocketAddress remote, Instant since, boolean tls, long bytesRead,
    long bytesWritten) {

  /** Checks that the export, address and time are there. */
  public NbdClient {
    Objects.requireNonNull(export, "export");
    Objects.requireNonNull(remote, "remote");
    Objects.requireNonNull(since, "since");
  }
}
