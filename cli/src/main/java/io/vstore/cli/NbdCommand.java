package io.vstore.cli;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import io.vstore.nbd.ScratchDevice;
import io.vstore.nbd.TlsContexts;
import io.vstore.server.exports.ExportSource;
import io.vstore.server.exports.OpenedExport;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore nbd}: exports devices over the NBD protocol. */
@Command(name = "nbd", description = "Export disks over NBD.", mixinStandardHelpOptions = true,
    subcommands = {NbdCommand.Serve.class})
public final class NbdCommand {

  /** {@code vstore nbd serve}: serves exports until interrupted. */
  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = {"Serve EXPORTs over NBD until interrupted (Ctrl-C or SIGTERM).",
          "EXPORT is [NAME=]SPEC; SPEC is a VOLUME of the datastore, a snapshot VOLUME@SNAP (read-only),",
          "an image FILE of any supported format (read-write unless --read-only), or memory:SIZE",
          "(a scratch disk in memory, lost on exit). NAME defaults to the volume, snapshot or file name."})
  static final class Serve implements Callable<Integer> {
    private static final String MEMORY = "memory:";

    @Spec CommandSpec spec;

    @Option(names = "--bind", description = "Address to listen on (default: ${DEFAULT-VALUE}).", defaultValue = "127.0.0.1")
    String bind;

    @Option(names = "--port", description = "TCP port, 0 for any free port (default: ${DEFAULT-VALUE}).", defaultValue = "10809")
    int port;

    @Option(names = "--tls-cert", description = "PEM certificate chain for STARTTLS.")
    Path tlsCert;

    @Option(names = "--tls-key", description = "PEM PKCS#8 private key for STARTTLS.")
    Path tlsKey;

    @Option(names = "--tls-require", description = "Refuse clients that do not start TLS.")
    boolean tlsRequire;

    @Option(names = "--read-only", description = "Refuse writes to every export.")
    boolean readOnly;

    @Mixin DatastoreLocation location;

    @Mixin DatastoreKeyOptions keys;

    @Option(names = "--dirty-bitmap", paramLabel = "CHANGEID",
        description = "Offer qemu:dirty-bitmap:CHANGEID on volume and snapshot exports: what changed since CHANGEID (repeatable).")
    List<String> dirtyBitmaps = new ArrayList<>();

    /** Opened on the first volume export; closed after the server and the volumes. */
    private Datastore datastore;

    @Parameters(arity = "1..*", paramLabel = "EXPORT", description = "[NAME=]SPEC")
    List<String> exports;

    @Override
    public Integer call() throws Exception {
      if ((tlsCert == null) != (tlsKey == null)) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together");
      }
      if (tlsRequire && tlsCert == null) {
        throw new IllegalArgumentException("--tls-require needs --tls-cert and --tls-key");
      }
      SSLContext tls = tlsCert == null ? null : TlsContexts.fromPem(tlsCert, tlsKey);
      PrintWriter out = spec.commandLine().getOut();
      ExportRegistry registry = new ExportRegistry();
      List<BlockDevice> opened = new ArrayList<>();
      NbdServer[] server = new NbdServer[1];
      AtomicBoolean cleaned = new AtomicBoolean();
      // Runs once, from the shutdown hook on SIGTERM/Ctrl-C or below on errors: the JVM halts
      // when its hooks end, so flushing the devices must happen inside the hook itself.
      Callable<Void> cleanup = () -> {
        if (!cleaned.compareAndSet(false, true)) {
          return null;
        }
        IOException failure = null;
        if (server[0] != null) {
          server[0].close();
        }
        for (BlockDevice d : opened) {
          try (d) {
            if (!d.isReadOnly()) {
              d.flush();
            }
          } catch (IOException ex) {
            if (failure == null) {
              failure = ex;
            } else {
              failure.addSuppressed(ex);
            }
          }
        }
        if (datastore != null) {
          try {
            datastore.close();
          } catch (IOException ex) {
            if (failure == null) {
              failure = ex;
            } else {
              failure.addSuppressed(ex);
            }
          }
        }
        if (failure != null) {
          throw failure;
        }
        return null;
      };
      try {
        for (String e : exports) {
          int eq = e.indexOf('=');
          String name = eq < 0 ? "" : e.substring(0, eq);
          String source = eq < 0 ? e : e.substring(eq + 1);
          if (source.startsWith(MEMORY)) {
            BlockDevice device = memory(source, name);
            opened.add(device);
            if (name.isEmpty() && exports.size() > 1) {
              name = source;
            }
            if (!dirtyBitmaps.isEmpty() && exports.size() == 1) {
              throw new IllegalArgumentException("--dirty-bitmap needs a volume or snapshot export, not '" + source + "'");
            }
            registry.add(new Export(name, source, device, readOnly || device.isReadOnly(), List.of()));
            continue;
          }
          // The same spec rules as the daemon's exports; relative image paths are relative to here.
          ExportSource parsed = ExportSource.parse(source, Path.of("").toAbsolutePath());
          // With several exports, the change ids apply to the volumes among them.
          List<String> bitmaps = parsed instanceof ExportSource.VolumeSource || exports.size() == 1 ? dirtyBitmaps
              : List.of();
          OpenedExport export = OpenedExport.open(name.isEmpty() ? parsed.defaultName() : name, parsed, readOnly,
              bitmaps, this::datastore);
          opened.add(export.device());
          registry.add(export.export());
        }
        try {
          server[0] = NbdServer.start(registry, new NbdServer.Options(InetAddress.getByName(bind), port, tls, tlsRequire));
        } catch (java.net.BindException e) {
          throw new java.net.BindException("cannot listen on " + bind + ":" + port + ": " + e.getMessage()
              + (port == 0 ? "" : " (another server holds the port? pick one with --port, 0 for any free port)"));
        }
        for (Export x : registry.list()) {
          out.printf("serving %s (%s, %s) at nbd%s://%s:%d/%s%n", x.name().isEmpty() ? "(default)" : x.name(),
              Sizes.format(x.device().size()), x.readOnly() ? "read-only" : "read-write", tls == null ? "" : "s",
              server[0].address().getAddress().getHostAddress(), server[0].port(), x.name());
        }
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        // Ctrl-C and SIGTERM are the normal way to stop a server: they end the wait below, so the
        // command cleans up and exits 0 rather than dying with 130 or 143.
        Signals.onStop(stopped::countDown);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          try {
            cleanup.call();
          } catch (Exception ex) {
            System.err.println("vstore: " + Vstore.describe(ex));
          } finally {
            stopped.countDown();
          }
        }));
        stopped.await();
        return 0;
      } finally {
        cleanup.call();
      }
    }

    /** Returns a scratch disk in memory for {@code memory:SIZE}. */
    private static BlockDevice memory(String source, String name) {
      long size = Sizes.parse(source.substring(MEMORY.length()));
      // The scratch disk may fill up to its size, but never beyond what the heap can hold.
      long cap = Math.min(size, Runtime.getRuntime().maxMemory() / 4 * 3);
      return new ScratchDevice(name.isEmpty() ? source : name, size, cap);
    }

    /** Opens the datastore on the first volume export. */
    private Datastore datastore() throws IOException {
      if (datastore == null) {
        // A server runs for long: unlike one-shot commands it keeps the background cleaner.
        Path dir = location.path();
        DatastoreOptions options = DatastoreOptions.defaults().withKeys(location.keys());
        datastore = location.isDefault() ? Datastore.openOrCreate(dir, options) : Datastore.open(dir, options);
      }
      return datastore;
    }
  }
}
