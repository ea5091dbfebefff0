package io.vstore.cli;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy between a replica and its NBD secondary that the test can break: {@link #cut}
 * resets every connection and refuses new ones, {@link #stall} holds bytes back (a link that drops
 * everything), {@link #delay} slows each forwarded chunk; {@link #heal} restores it.
 */
final class TcpProxy implements Closeable {
  private final ServerSocket listener;
  private final int upstreamPort;
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private volatile boolean cut;
  private volatile boolean stalled;
  private volatile int delayMillis;
  private volatile boolean closed;

  TcpProxy(int upstreamPort) throws IOException {
    this.upstreamPort = upstreamPort;
    this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("proxy accept").start(this::accept);
  }

  int port() {
    return listener.getLocalPort();
  }

  /** Resets every connection now and refuses new ones until {@link #heal}. */
  void cut() {
    cut = true;
    for (Socket s : open) {
      try {
        s.setSoLinger(true, 0); // a reset, as a failed link looks to the peers
        s.close();
      } catch (IOException e) {
        // already gone
      }
    }
    open.clear();
  }

  /** Stops forwarding (bytes wait) without closing anything: requests time out. */
  void stall() {
    stalled = true;
  }

  /** Delays every forwarded chunk by {@code millis}. */
  void delay(int millis) {
    delayMillis = millis;
  }

  /** Forwards again, without delay. */
  void heal() {
    delayMillis = 0;
    stalled = false;
    cut = false;
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = listener.accept();
        if (cut) {
          client.close();
          continue;
        }
        Socket server = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        open.add(client);
        open.add(server);
        Thread.ofVirtual().start(() -> pump(client, server));
        Thread.ofVirtual().start(() -> pump(server, client));
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[64 << 10];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) > 0) {
        while (stalled && !cut && !closed) {
          Thread.sleep(10);
        }
        if (delayMillis > 0) {
          Thread.sleep(delayMillis);
        }
        out.write(buf, 0, n);
      }
    } catch (IOException | InterruptedException e) {
      // the link was cut or a side closed: close the other side too
    } finally {
      try {
        from.close();
        to.close();
      } catch (IOException e) {
        // nothing more to do
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    listener.close();
    cut();
  }
}
