package io.vstore.cli;

import io.vstore.blockstore.store.DatastoreException;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.TokenStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vstore serve}: runs the daemon in the foreground until SIGTERM or Ctrl-C, which stop it
 * cleanly (stop accepting, end jobs, flush, release the locks) with exit status 0; a failure to
 * stop cleanly is reported as an error (exit 1).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Own the datastores (-D, repeatable; default: the default datastore, created on first use) and",
        "serve them until SIGTERM or Ctrl-C: the HTTP API on <datastore>/vstore.sock (and --listen), NBD exports,",
        "jobs, events and metrics. While it runs, every vstore command on those datastores goes through it."})
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--listen", paramLabel = "HOST:PORT",
      description = "Also serve the API on TCP: plain HTTP only on a loopback address, else with --tls-cert/--tls-key.")
  String listen;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Certificate chain for HTTPS (TLS 1.3) on --listen.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "PKCS#8 private key of --tls-cert.")
  Path tlsKey;

  @Option(names = "--nbd-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:" + DaemonConfig.NBD_PORT,
      description = "Where NBD exports are served (default: ${DEFAULT-VALUE}).")
  String nbdListen;

  @Option(names = "--alarm-webhook", paramLabel = "URL",
      description = "POST capacity alarms as JSON to URL (retried; never blocks I/O).")
  URI alarmWebhook;

  @Option(names = "--max-heavy-jobs", paramLabel = "N", defaultValue = "2",
      description = "Heavy jobs (import, export, flatten, clean, ...) run at once per datastore; more wait in a queue"
          + " (default: ${DEFAULT-VALUE}).")
  int maxHeavyJobs;
  @Option(names = "--metadata-cache", paramLabel = "SIZE", defaultValue = "256M",
      description = "Memory for block-map and record-state pages, shared evenly by the datastores served"
          + " (default: ${DEFAULT-VALUE}); the rest is paged from each datastore's metadata.")
  String metadataCache;

  @Mixin DatastoreKeyOptions keys;

  @Option(names = "--transfer-slots", paramLabel = "N", defaultValue = "" + io.vstore.offline.server.Checkouts.DEFAULT_SLOTS,
      description = "Check-out and check-in transfers served at once; more wait in a fair queue (default: ${DEFAULT-VALUE}).")
  int transferSlots;

  @Override
  public Integer call() throws Exception {
    Vstore globals = Vstore.globals(spec);
    List<Path> dirs = new ArrayList<>();
    for (Path d : globals.datastores) {
      dirs.add(d.toAbsolutePath().normalize());
    }
    boolean createDefault = dirs.isEmpty() && System.getenv("VSTORE_DATASTORE") == null;
    if (dirs.isEmpty()) {
      dirs.add(DatastoreLocation.choose(null).toAbsolutePath().normalize());
    }
    DaemonConfig config = new DaemonConfig(dirs, createDefault, listen == null ? null : address("--listen", listen),
        tlsCert, tlsKey, address("--nbd-listen", nbdListen), alarmWebhook, maxHeavyJobs,
        metadataCacheBytes());
    Daemon daemon;
    try {
      daemon = Daemon.start(config, new CliCommandRunner().prepare(), keys.source());
    } catch (DatastoreException e) {
      for (Path dir : dirs) {
        if (e.getMessage() != null && e.getMessage().contains(dir.toString())) {
          throw DatastoreOwner.explain(dir, e);
        }
      }
      throw e;
    }
    PrintWriter out = spec.commandLine().getOut();
    InstantRestores.resumeAll(daemon);
    Migrations.resumeAll(daemon);
    try {
      io.vstore.offline.server.Checkouts.install(daemon, transferSlots);
      for (ManagedDatastore ds : daemon.all()) {
        DatastoreOwner.record(ds.path(), "vstore serve", ds.path().resolve(Daemon.SOCKET));
      }
      for (ManagedDatastore ds : daemon.all()) {
        out.println("serving datastore " + ds.name() + " (" + ds.path() + ") on " + ds.path().resolve(Daemon.SOCKET));
      }
      if (daemon.api().tcpPort() > 0) {
        out.println("serving the API on " + (tlsCert != null ? "https" : "http") + "://"
            + hostForUrl(config.listen()) + ":" + daemon.api().tcpPort() + " (token in "
            + daemon.all().getFirst().path().resolve(TokenStore.ADMIN_FILE) + ")");
      }
      out.println("stop with Ctrl-C or SIGTERM");
      out.flush();
    } catch (IOException | RuntimeException e) {
      stop(daemon);
      throw e;
    }
    // Ctrl-C and SIGTERM are the normal stop: they end the wait below, so the daemon closes on
    // this thread and the command exits 0 (1 if the stop failed), not 130 or 143. The hook covers
    // other ways the JVM ends (a signal that cannot be handled, System.exit elsewhere).
    CountDownLatch stopRequested = new CountDownLatch(1);
    Signals.onStop(stopRequested::countDown);
    Thread hook = new Thread(() -> {
      try {
        stop(daemon);
      } catch (IOException | RuntimeException e) {
        System.err.println("vstore: " + Vstore.describe(e));
      }
    }, "vstore-serve-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    stopRequested.await();
    stop(daemon);
    PrintWriter err = spec.commandLine().getErr();
    err.println("vstore serve: stopped");
    err.flush();
    return 0;
  }

  private static void stop(Daemon daemon) throws IOException {
    List<Path> dirs = daemon.all().stream().map(ManagedDatastore::path).toList();
    try {
      daemon.close();
    } finally {
      for (Path dir : dirs) {
        DatastoreOwner.clear(dir);
      }
    }
  }

  /** Parses {@code HOST:PORT} (an IPv6 host in brackets), naming the option on error. */
  static InetSocketAddress address(String option, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(option + " " + value + ": expected HOST:PORT");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " " + value + ": the port is not a number");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(option + " " + value + ": port " + port + " is not between 0 and 65535");
    }
    return new InetSocketAddress(host, port);
  }

  private long metadataCacheBytes() {
    try {
      return Sizes.parse(metadataCache);
    } catch (picocli.CommandLine.TypeConversionException e) {
      throw new IllegalArgumentException("--metadata-cache " + e.getMessage());
    }
  }

  private static String hostForUrl(InetSocketAddress a) {
    String h = a.getHostString();
    return h.contains(":") ? "[" + h + "]" : h;
  }
}
