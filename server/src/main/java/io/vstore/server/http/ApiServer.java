package io.vstore.server.http;

import io.vstore.server.auth.Principal;
import io.vstore.server.auth.TokenStore;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The daemon's HTTP server (Jetty): a Unix socket per datastore, optionally TCP (plain only on
 * loopback, else TLS 1.3), bounded connections and idle timeouts, authentication, and routing to
 * {@link RouteHandler}s that may block (they run on virtual threads).
 */
public final class ApiServer implements Closeable {
  /** Where and how the server listens. */
  public record Options(List<Path> unixSockets, InetSocketAddress tcp, SSLContext tls, int maxConnections,
      Duration idleTimeout) {
    /** Checks that plain HTTP is only offered on loopback. */
    public Options {
      unixSockets = List.copyOf(unixSockets);
      if (tcp != null && tls == null && !tcp.getAddress().isLoopbackAddress()) {
        throw new IllegalArgumentException("--listen " + tcp.getHostString() + ":" + tcp.getPort()
            + " is not a loopback address: give --tls-cert and --tls-key (plain HTTP is only served on loopback)");
      }
    }
  }

  private static final System.Logger LOG = System.getLogger("io.vstore.server");

  private final Router router;
  private final TokenStore tokens;
  private final List<Authenticator> authenticators = new CopyOnWriteArrayList<>();
  private final Server server;
  private final List<Path> sockets;
  private ServerConnector tcpConnector;

  private ApiServer(Router router, TokenStore tokens, Options options) {
    this.router = router;
    this.tokens = tokens;
    this.sockets = options.unixSockets();
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("vstore-http");
    pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    this.server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    for (Path socket : sockets) {
      UnixDomainServerConnector c = new UnixDomainServerConnector(server, new HttpConnectionFactory(http));
      c.setUnixDomainPath(socket);
      c.setIdleTimeout(options.idleTimeout().toMillis());
      server.addConnector(c);
    }
    if (options.tcp() != null) {
      ServerConnector c;
      if (options.tls() != null) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(options.tls());
        ssl.setIncludeProtocols("TLSv1.3");
        HttpConfiguration https = new HttpConfiguration(http);
        https.addCustomizer(new SecureRequestCustomizer(false));
        c = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(https));
      } else {
        c = new ServerConnector(server, new HttpConnectionFactory(http));
      }
      c.setHost(options.tcp().getHostString());
      c.setPort(options.tcp().getPort());
      c.setIdleTimeout(options.idleTimeout().toMillis());
      server.addConnector(c);
      tcpConnector = c;
    }
    server.addBean(new ConnectionLimit(options.maxConnections(), server));
    server.setHandler(new Dispatch());
    server.setStopTimeout(5_000);
  }

  /**
   * Starts serving {@code router}'s routes. Sockets are made mode 0600 as soon as they exist; the
   * datastore directories that hold them are mode 0700, so no one else can reach them in between.
   */
  public static ApiServer start(Router router, TokenStore tokens, Options options) throws IOException {
    for (Path socket : options.unixSockets()) {
      Files.deleteIfExists(socket); // left behind by a crashed daemon; the datastore lock is already ours
    }
    ApiServer api = new ApiServer(router, tokens, options);
    try {
      api.server.start();
    } catch (Exception e) {
      api.close();
      if (e instanceof IOException io) {
        String where = options.tcp() == null ? "" : " on " + options.tcp().getHostString() + ":" + options.tcp().getPort();
        throw new IOException("cannot listen" + where + ": " + io.getMessage(), io);
      }
      throw new IOException("cannot start the HTTP server: " + e.getMessage(), e);
    }
    for (Path socket : options.unixSockets()) {
      Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    }
    return api;
  }

  /** Adds a way of authenticating TCP requests besides bearer tokens (dashboard sessions). */
  public void addAuthenticator(Authenticator authenticator) {
    authenticators.add(authenticator);
  }

  /** Returns the TCP port served, or -1 if TCP is off. */
  public int tcpPort() {
    return tcpConnector == null ? -1 : tcpConnector.getLocalPort();
  }

  /** Returns the Unix sockets served. */
  public List<Path> sockets() {
    return sockets;
  }

  @Override
  public void close() throws IOException {
    try {
      server.stop();
    } catch (Exception e) {
      throw new IOException("cannot stop the HTTP server: " + e.getMessage(), e);
    } finally {
      for (Path socket : sockets) {
        Files.deleteIfExists(socket);
      }
    }
  }

  private Principal authenticate(Request request) {
    if (request.getConnectionMetaData().getConnector() instanceof UnixDomainServerConnector) {
      return Principal.LOCAL;
    }
    String auth = request.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (auth != null) {
      if (!auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        throw new ApiException(401, "Authorization must be 'Bearer <token>'");
      }
      return tokens.authenticate(auth.substring(7).trim())
          .orElseThrow(() -> new ApiException(401, "unknown or revoked token"));
    }
    for (Authenticator a : authenticators) {
      Optional<Principal> p = a.authenticate(request);
      if (p.isPresent()) {
        return p.get();
      }
    }
    return null;
  }

  /** Routes each request, authenticates and authorizes it, and turns failures into problem+json. */
  private final class Dispatch extends Handler.Abstract {
    Dispatch() {
      super(InvocationType.BLOCKING);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
      Exchange ex = null;
      try {
        Router.Match match = router.match(request.getMethod(), Request.getPathInContext(request));
        Principal principal = authenticate(request);
        if (match.route().scope() != null) {
          if (principal == null) {
            throw new ApiException(401, "missing credentials: send 'Authorization: Bearer <token>'");
          }
          principal.require(match.route().scope());
        }
        ex = new Exchange(request, response, principal, match.params());
        match.route().handler().handle(ex);
        if (!ex.responded()) {
          ex.noContent();
        }
        callback.succeeded();
      } catch (Throwable e) {
        fail(request, response, callback, ex, e);
      }
      return true;
    }

    private void fail(Request request, Response response, Callback callback, Exchange ex, Throwable e) {
      int status = Problems.status(e);
      if (status >= 500) {
        LOG.log(System.Logger.Level.WARNING, request.getMethod() + " " + request.getHttpURI().getPath() + " failed", e);
      }
      if (ex != null && ex.responded()) {
        callback.failed(e); // the body had started: all we can do is cut the connection
        return;
      }
      if (status == 413) {
        // The body was not read: the connection cannot carry another request, and a client must not try.
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
      }
      if (status == 401) {
        response.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer realm=\"vstore\"");
      }
      try {
        Exchange problem = ex != null ? ex : new Exchange(request, response, null, java.util.Map.of());
        problem.problem(status, Problems.message(e));
        callback.succeeded();
      } catch (Throwable t) {
        callback.failed(t);
      }
    }
  }

  /** Returns the routes served, for the OpenAPI check. */
  public List<Route> routes() {
    return new ArrayList<>(router.routes());
  }
}
