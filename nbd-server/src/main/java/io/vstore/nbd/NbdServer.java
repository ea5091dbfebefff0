package io.vstore.nbd;

import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;

/**
 * An NBD server: accepts connections on one TCP address and serves the exports of an
 * {@link ExportRegistry}: each connection on a virtual thread, its device calls on worker threads.
 */
public final class NbdServer implements Closeable {
  private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());
  /** Direct buffers kept for reuse across all connections. */
  private static final long POOL_BYTES = 256L << 20;

  /**
   * How the server listens.
   *
   * @param bind address to listen on
   * @param port TCP port, 0 for any free port
   * @param tls context for STARTTLS, or null for a server without TLS
   * @param requireTls whether clients must start TLS before anything else (needs {@code tls})
   * @param handshakeTimeout how long a client may take to reach the transmission phase before
   *     it is disconnected, so idle half-open connections cannot pile up
   */
  public record Options(InetAddress bind, int port, SSLContext tls, boolean requireTls, Duration handshakeTimeout) {
    /** Default time a client gets to finish negotiation. */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(30);

    public Options {
      Objects.requireNonNull(bind, "bind");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("bad port " + port);
      }
      if (requireTls && tls == null) {
        throw new IllegalArgumentException("requiring TLS needs a certificate and key");
      }
      if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
        throw new IllegalArgumentException("bad handshake timeout " + handshakeTimeout);
      }
    }

    /** Returns options with the default handshake timeout. */
    public Options(InetAddress bind, int port, SSLContext tls, boolean requireTls) {
      this(bind, port, tls, requireTls, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    /** Returns options for a plain server on the loopback address and a free port. */
    public static Options loopback() {
      return new Options(InetAddress.getLoopbackAddress(), 0, null, false);
    }

    /** Returns these options with {@code timeout} for negotiation. */
    public Options withHandshakeTimeout(Duration timeout) {
      return new Options(bind, port, tls, requireTls, timeout);
    }
  }

  private final ExportRegistry registry;
  private final Options options;
  private final ConnectionListener connectionListener;
  private final AtomicLong nextConnectionId = new AtomicLong(1);
  private final ServerSocketChannel listener;
  private final BufferPool pool = new BufferPool(POOL_BYTES);
  /**
   * Runs device calls. Connections and their request readers are virtual threads, but device
   * calls run on platform threads: devices spend their time in JNI (RocksDB, LZ4) and file I/O,
   * which pin a virtual thread's carrier, and with only a few carriers the readers then starve
   * (measured: 1 MiB writes to a volume at depth 8 ran at half speed). The pool grows on demand,
   * so a slow request never waits for another client's; each connection bounds its own share.
   */
  /** Reads served through connections' io_uring rings (the rest go to worker threads). */
  private final java.util.concurrent.atomic.LongAdder ringReads = new java.util.concurrent.atomic.LongAdder();
  private final ExecutorService workers =
      Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("nbd-worker-", 0).factory());
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final Consumer<Export> removalListener = this::disconnect;
  /** Closes connections that are still negotiating when their handshake time is up. */
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("nbd-handshake-timer").factory());
  private volatile boolean closed;

  private NbdServer(ExportRegistry registry, Options options, ConnectionListener connectionListener) throws IOException {
    this.registry = registry;
    this.options = options;
    this.connectionListener = Objects.requireNonNull(connectionListener, "connectionListener");
    this.listener = ServerSocketChannel.open();
    boolean success = false;
    try {
      listener.bind(new InetSocketAddress(options.bind(), options.port()), 128);
      success = true;
    } finally {
      if (!success) {
        listener.close();
      }
    }
    registry.onRemove(removalListener);
    this.acceptor = Thread.ofVirtual().name("nbd-accept-" + port()).unstarted(this::acceptLoop);
  }

  /** Starts a server for the exports of {@code registry}. */
  public static NbdServer start(ExportRegistry registry, Options options) throws IOException {
    return start(registry, options, ConnectionListener.NONE);
  }

  /** Starts a server for the exports of {@code registry} that tells {@code listener} about clients. */
  public static NbdServer start(ExportRegistry registry, Options options, ConnectionListener listener)
      throws IOException {
    NbdServer server = new NbdServer(registry, options, listener);
    server.acceptor.start();
    return server;
  }

  /** Returns the address the server listens on (with the chosen port). */
  public InetSocketAddress address() {
    try {
      return (InetSocketAddress) listener.getLocalAddress();
    } catch (IOException e) {
      throw new IllegalStateException("server is closed", e);
    }
  }

  /** Returns the TCP port the server listens on. */
  public int port() {
    return address().getPort();
  }

  /** Returns the number of open client connections. */
  public int connectionCount() {
    return connections.size();
  }

  /** Returns the clients attached to an export now, in the order they connected. */
  public List<NbdClient> clients() {
    List<NbdClient> out = new ArrayList<>();
    for (Connection c : connections) {
      NbdClient client = c.describe();
      if (client != null) {
        out.add(client);
      }
    }
    out.sort(Comparator.comparingLong(NbdClient::id));
    return out;
  }

  /** Returns the clients attached to the export called {@code name} now. */
  public List<NbdClient> clients(String name) {
    return clients().stream().filter(c -> c.export().equals(name)).toList();
  }

  private void acceptLoop() {
    while (!closed) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (ClosedChannelException e) {
        return;
      } catch (IOException e) {
        if (!closed) {
          LOG.log(Level.WARNING, "nbd: accept failed", e);
        }
        continue;
      }
      Connection c = new Connection(channel, nextConnectionId.getAndIncrement());
      connections.add(c);
      Thread.ofVirtual().name("nbd-connection").start(c::run);
    }
  }

  /** Disconnects every client of {@code export} and waits until they are gone. */
  private void disconnect(Export export) {
    for (Connection c : connections) {
      if (c.exportIs(export)) {
        c.stop();
      }
    }
    for (Connection c : connections) {
      if (c.exportIs(export)) {
        c.awaitClosed();
      }
    }
  }

  /** Stops accepting, disconnects every client after its requests in flight, and waits. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    listener.close();
    for (Connection c : connections) {
      c.stop();
    }
    for (Connection c : connections) {
      c.awaitClosed();
    }
    try {
      acceptor.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    workers.shutdown();
    timer.shutdownNow();
    registry.removeListener(removalListener);
  }

  /** Returns how many reads connections served through their io_uring rings. */
  long ringReads() {
    return ringReads.sum();
  }

  @Override
  public String toString() {
    return "NBD server on " + (listener.isOpen() ? address() : "(closed)");
  }

  /** One client from accept to close. */
  private final class Connection {
    private final SocketChannel channel;
    private final long id;
    private final InetSocketAddress remote;
    private volatile Instant since;
    private volatile Transport transport;
    private volatile Transmission transmission;
    private volatile boolean stopped;
    private final CountDownLatch closedLatch = new CountDownLatch(1);

    Connection(SocketChannel channel, long id) {
      this.channel = channel;
      this.id = id;
      InetSocketAddress peer;
      try {
        peer = (InetSocketAddress) channel.getRemoteAddress();
      } catch (IOException e) {
        peer = new InetSocketAddress(0); // already gone: the handshake will fail at once
      }
      this.remote = peer;
    }

    /** Returns this client as attached to its export, or null while it is still negotiating. */
    NbdClient describe() {
      Transmission t = transmission;
      Instant s = since;
      if (t == null || s == null) {
        return null;
      }
      return new NbdClient(id, t.export().name(), remote, s, transport.isTls(), t.bytesRead(), t.bytesWritten());
    }

    void run() {
      try {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        transport = new Transport.Plain(channel);
        ScheduledFuture<?> deadline = timer.schedule(this::handshakeTimedOut,
            options.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        Optional<Handshake.Agreement> agreed;
        try {
          agreed = new Handshake(transport, registry, options.tls(), options.requireTls()).run();
        } finally {
          deadline.cancel(false);
        }
        if (agreed.isEmpty() || stopped) {
          return;
        }
        transport = agreed.get().transport();
        Transmission t = new Transmission(agreed.get(), pool, workers, ringReads);
        // Publish first, then re-check: a concurrent remove() either sees this connection and
        // stops it, or removed the export before the check below.
        transmission = t;
        if (stopped || registry.find(t.export().name()).orElse(null) != t.export()) {
          return;
        }
        since = Instant.now();
        NbdClient attached = describe();
        tell(l -> l.connected(attached));
        try {
          t.serve();
        } finally {
          NbdClient left = describe();
          tell(l -> l.disconnected(left));
        }
      } catch (NbdProtocolException e) {
        LOG.log(Level.INFO, "nbd: dropping " + transport + ": " + e.getMessage());
      } catch (IOException e) {
        LOG.log(Level.DEBUG, () -> "nbd: connection " + transport + " ended: " + e);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "nbd: connection " + transport + " failed", e);
      } finally {
        try {
          Transport tr = transport;
          if (tr != null) {
            tr.close();
          } else {
            channel.close();
          }
        } catch (IOException e) {
          LOG.log(Level.DEBUG, () -> "nbd: close failed: " + e);
        }
        connections.remove(this);
        closedLatch.countDown();
      }
    }

    private void tell(Consumer<ConnectionListener> event) {
      try {
        event.accept(connectionListener);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "nbd: connection listener failed for " + transport, e);
      }
    }

    private void handshakeTimedOut() {
      LOG.log(Level.INFO, "nbd: dropping " + transport + ": no agreement within " + options.handshakeTimeout());
      try {
        channel.close();
      } catch (IOException ignored) {
        // Closing is all we wanted.
      }
    }

    boolean exportIs(Export export) {
      Transmission t = transmission;
      return t != null && t.export() == export;
    }

    void stop() {
      stopped = true;
      Transmission t = transmission;
      if (t != null) {
        t.stop();
      } else {
        // Still negotiating: closing the socket ends the handshake at its next read.
        try {
          channel.close();
        } catch (IOException ignored) {
          // Closing is all we wanted.
        }
      }
    }

    void awaitClosed() {
      try {
        closedLatch.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
