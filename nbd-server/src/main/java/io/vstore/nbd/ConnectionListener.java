package io.vstore.nbd;

/**
 * Hears about clients attaching to and leaving exports (clients that only list exports or ask for
 * information are not reported). Called on the connection's own thread: return quickly and do not
 * throw (a failure is logged and otherwise ignored).
 */
public interface ConnectionListener {
  /** Does nothing; the listener of a server started without one. */
  ConnectionListener NONE = new ConnectionListener() {};

  /** Reports that {@code client} finished negotiating and is about to use its export. */
  default void connected(NbdClient client) {}

  /** Reports that {@code client} disconnected, with its final byte counts. */
  default void disconnected(NbdClient client) {}
}
