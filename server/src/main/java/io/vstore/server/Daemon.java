package io.vstore.server;

import io.vstore.nbd.TlsContexts;
import io.vstore.server.auth.Scope;
import io.vstore.server.auth.TokenStore;
import io.vstore.server.exports.ExportManager;
import io.vstore.server.exports.ExportRoutes;
import io.vstore.server.http.ApiServer;
import io.vstore.server.http.Exchange;
import io.vstore.server.http.OpenApiDocument;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.JobManager;
import io.vstore.server.metrics.Metrics;
import io.vstore.server.web.Dashboard;
import java.io.Closeable;
import io.vstore.blockstore.crypto.KeySource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLContext;

/**
 * {@code vstore serve}: owns the configured datastores (each one's lock held for the daemon's
 * life), serves the HTTP API on a Unix socket inside each and optionally on TCP, and runs the
 * NBD exports and jobs. {@link #close} stops accepting, ends jobs, flushes and releases the locks.
 */
public final class Daemon implements DatastoreHost, Closeable {
  /** The Unix socket inside each owned datastore. */
  public static final String SOCKET = "vstore.sock";
  /** The most HTTP connections served at once, over all listeners. */
  static final int MAX_CONNECTIONS = 1024;
  /** How long an HTTP connection may stay idle (or a slow client take to send a request). */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
  private static final System.Logger LOG = System.getLogger("io.vstore.server");

  private final DaemonConfig config;
  private final CommandRunner runner;
  private final List<ManagedDatastore> datastores;
  private final EventBus events = new EventBus();
  private final Router router = new Router();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private TokenStore tokens;
  private JobManager jobs;
  private ApiServer api;
  private Metrics metrics;
  private EventRoutes eventRoutes;
  private ExportManager exports;
  private io.vstore.server.replica.ReplicaService replicas;
  private Dashboard dashboard;
  private volatile boolean closed;

  private Daemon(DaemonConfig config, CommandRunner runner, List<ManagedDatastore> datastores) {
    this.config = config;
    this.runner = runner;
    this.datastores = datastores;
  }

  /** Opens the datastores, then starts every listener; on failure, releases what it took. */
  public static Daemon start(DaemonConfig config, CommandRunner runner) throws IOException {
    return start(config, runner, null);
  }

  /**
   * Starts as {@link #start(DaemonConfig, CommandRunner)} does; encrypted datastores are unlocked
   * with {@code keys} (null: none may be encrypted).
   */
  public static Daemon start(DaemonConfig config, CommandRunner runner, KeySource keys) throws IOException {
    Daemon d = new Daemon(config, runner, openAll(config, keys));
    try {
      d.startServices();
      return d;
    } catch (IOException | RuntimeException e) {
      try {
        d.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static List<ManagedDatastore> openAll(DaemonConfig config, KeySource keys) throws IOException {
    List<ManagedDatastore> opened = new ArrayList<>();
    Set<String> names = new HashSet<>();
    try {
      for (Path dir : config.datastores()) {
        String base = dir.toAbsolutePath().normalize().getFileName() == null ? "datastore"
            : dir.toAbsolutePath().normalize().getFileName().toString();
        String name = base;
        for (int i = 2; !names.add(name); i++) {
          name = base + "-" + i;
        }
        ManagedDatastore ds = ManagedDatastore.open(name, dir, config.createMissing(), keys,
            config.metadataCachePerDatastore());
        opened.add(ds);
        // Sockets and token files live here: only the owner may enter.
        Files.setPosixFilePermissions(ds.path(), PosixFilePermissions.fromString("rwx------"));
      }
      return opened;
    } catch (IOException | RuntimeException e) {
      for (ManagedDatastore ds : opened) {
        try {
          ds.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  private void startServices() throws IOException {
    tokens = TokenStore.open(datastores.getFirst().path());
    router.add("GET", "/api/v1/version", Scope.READ, "The daemon's version and the datastores it owns.",
        ex -> ex.json(200, Map.of("version", version(), "datastores",
            datastores.stream().map(ManagedDatastore::name).toList())));
    TokenRoutes.register(router, tokens);
    byte[] openApi = Exchange.JSON.writeValueAsBytes(OpenApiDocument.load());
    router.add("GET", "/api/v1/openapi.json", null, "This document.", ex -> ex.send(200, "application/json", openApi));
    metrics = Metrics.start(datastores, events, config.alarmWebhook());
    metrics.addRoutes(router);
    eventRoutes = new EventRoutes(events, EventRoutes.HEARTBEAT);
    eventRoutes.addRoutes(router);
    jobs = new JobManager(events, config.maxHeavyJobs()); // resumers of job kinds register here, before open
    for (ManagedDatastore ds : datastores) {
      jobs.open(ds.name(), ds.path());
    }
    metrics.trackJobs(jobs);
    JobRoutes.register(router, jobs);
    CommandRoutes commands = CommandRoutes.register(this, jobs);
    BackupRoutes.register(this, commands);
    PoolRebalanceRoutes.register(this, commands);
    io.vstore.server.api.ApiRoutes.register(router, this, events, jobs);
    dashboard = Dashboard.install(router, config.listen(), config.tlsCert() != null, () -> api == null ? -1 : api.tcpPort());
    SSLContext tls = config.tlsCert() == null ? null : TlsContexts.fromPem(config.tlsCert(), config.tlsKey());
    exports = ExportManager.start(this, events, config.nbdListen(), tls);
    ExportRoutes.register(router, exports);
    metrics.trackNbdConnections(exports::connectionCount);
    replicas = io.vstore.server.replica.ReplicaService.start(datastores, events, metrics.registry());
    io.vstore.server.replica.ReplicaRoutes.register(router, replicas, this);
    for (ManagedDatastore ds : datastores) {
      ds.store().setDeletionGuard((volume, snapshot) -> {
        exports.checkDeletable(ds, volume, snapshot);
        if (snapshot == null) {
          replicas.replicas().checkDeletable(ds.path(), volume); // a replicated volume goes only with its pair
        }
      });
    }
    List<Path> sockets = datastores.stream().map(ds -> ds.path().resolve(SOCKET)).toList();
    api = ApiServer.start(router, tokens,
        new ApiServer.Options(sockets, config.listen(), tls, MAX_CONNECTIONS, IDLE_TIMEOUT));
    api.addAuthenticator(dashboard.authenticator());
    LOG.log(System.Logger.Level.INFO, "serving " + datastores + " on " + sockets
        + (api.tcpPort() > 0 ? " and TCP port " + api.tcpPort() : ""));
  }

  /** Returns the version from the jar manifest. */
  static String version() {
    String v = Daemon.class.getPackage().getImplementationVersion();
    return v == null ? "development build" : v;
  }

  @Override
  public Optional<ManagedDatastore> find(Path dir) {
    for (ManagedDatastore ds : datastores) {
      try {
        if (Files.isSameFile(ds.path(), dir)) {
          return Optional.of(ds);
        }
      } catch (IOException e) {
        // not the same file (or not there at all): keep looking
      }
    }
    return Optional.empty();
  }

  @Override
  public ManagedDatastore byName(String name) {
    if (name == null) {
      return datastores.getFirst();
    }
    for (ManagedDatastore ds : datastores) {
      if (ds.name().equals(name)) {
        return ds;
      }
    }
    throw io.vstore.server.http.ApiException.notFound("no datastore " + name + " in this daemon (it owns "
        + String.join(", ", datastores.stream().map(ManagedDatastore::name).toList()) + ")");
  }

  @Override
  public List<ManagedDatastore> all() {
    return List.copyOf(datastores);
  }

  /** Returns the configuration the daemon runs with. */
  public DaemonConfig config() {
    return config;
  }

  /** Returns what runs forwarded command lines. */
  public CommandRunner runner() {
    return runner;
  }

  /** Returns the event bus. */
  public EventBus events() {
    return events;
  }

  /** Returns the API tokens. */
  public TokenStore tokens() {
    return tokens;
  }

  /** Returns the router, to which each part of the daemon adds its routes. */
  public Router router() {
    return router;
  }

  /** Returns the Prometheus metrics (and the alarm watch). */
  public Metrics metrics() {
    return metrics;
  }

  /** Returns the job manager. */
  public JobManager jobs() {
    return jobs;
  }

  /** Returns the HTTP server. */
  public ApiServer api() {
    return api;
  }

  /** Returns the replica pairs of the daemon's datastores. */
  public io.vstore.server.replica.ReplicaService replicas() {
    return replicas;
  }

  /** Returns the NBD exports. */
  public ExportManager exports() {
    return exports;
  }

  /** Returns the web dashboard (its login links and sessions). */
  public Dashboard dashboard() {
    return dashboard;
  }

  /** Blocks until {@link #close} has finished. */
  public void awaitClose() throws InterruptedException {
    stopped.await();
  }

  /** Stops accepting requests, then flushes and closes every datastore, releasing its lock. */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException failure = null;
    if (jobs != null) {
      jobs.close(); // before the API: clients streaming a job's output get its end
    }
    if (eventRoutes != null) {
      eventRoutes.close(); // event streams end their responses before the server stops
    }
    if (metrics != null) {
      metrics.close();
    }
    try {
      if (api != null) {
        api.close();
      }
    } catch (IOException e) {
      failure = e;
    }
    try {
      if (replicas != null) {
        replicas.close(); // pairs stop before the datastores close; their records resume them next start
      }
    } catch (IOException e) {
      failure = failure == null ? e : failure;
    }
    try {
      if (exports != null) {
        exports.close();
      }
    } catch (IOException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    for (ManagedDatastore ds : datastores) {
      try {
        ds.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    stopped.countDown();
    if (failure != null) {
      throw failure;
    }
  }
}
