package io.vstore.offline.client;

import io.vstore.blockstore.store.Volume;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A running offline copy ({@code vstore offline run}): the copy opened after its checks, each disk
 * exported over NBD under its volume name, and the clock's high-water mark saved every minute so a
 * clock set back later is detected. {@code vstore checkin} on a running copy goes through the
 * control socket {@code DIR/offline.sock} (mode 0600): this process, which holds the datastore,
 * snapshots and sends it while the exports keep serving, so the desktop stays usable during
 * check-in. {@link #close} stops the exports and flushes the datastore.
 */
public final class OfflineRun implements Closeable {
  private final OfflineCopy.Opened opened;
  private final List<Volume> volumes;
  private final NbdServer server;
  private final ScheduledExecutorService ticker;
  private final Path dir;
  private final char[] passphrase;
  private ServerSocketChannel control;
  private StreamingDisk.IoAction onStop;
  private Thread controlThread;

  private OfflineRun(OfflineCopy.Opened opened, List<Volume> volumes, NbdServer server,
      ScheduledExecutorService ticker, Path dir, char[] passphrase) {
    this.opened = opened;
    this.volumes = volumes;
    this.server = server;
    this.ticker = ticker;
    this.dir = dir;
    this.passphrase = passphrase;
  }

  /** The control socket in the copy's directory through which {@code vstore checkin} asks a running copy. */
  static final String CONTROL = "offline.sock";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request on the control socket (a JSON line) and its answer (a JSON line). */
  record Request(String op, String token, boolean keep, boolean force) {}

  /** The answer to a control request: the report, or the one-line error. */
  record Answer(OfflineCopy.CheckinReport report, String error) {}

  private void listen() throws IOException {
    Path sock = dir.resolve(CONTROL);
    Files.deleteIfExists(sock); // left by a copy that was killed
    control = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    control.bind(UnixDomainSocketAddress.of(sock));
    Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rw-------"));
    controlThread = Thread.ofVirtual().name("vstore-offline-control").start(() -> {
      while (control.isOpen()) {
        try (SocketChannel c = control.accept()) {
          serve(c);
        } catch (IOException e) {
          if (control.isOpen()) {
            System.getLogger("io.vstore.offline").log(System.Logger.Level.WARNING,
                "control request on " + sock + " failed: " + e.getMessage());
          }
        }
      }
    });
  }

  private void serve(SocketChannel c) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
    String line = in.readLine();
    if (line == null || line.length() > 64 << 10) {
      return;
    }
    Answer answer;
    try {
      Request r = JSON.readValue(line, Request.class);
      if (!"checkin".equals(r.op())) {
        throw new IllegalArgumentException("unknown control request " + r.op());
      }
      answer = new Answer(OfflineCopy.checkin(dir, passphrase, opened.store(), r.token(), r.keep(), r.force()), null);
    } catch (IOException | RuntimeException e) {
      answer = new Answer(null, e.getMessage() == null ? e.toString() : e.getMessage());
    }
    OutputStream out = Channels.newOutputStream(c);
    out.write(JSON.writeValueAsBytes(answer));
    out.write('\n');
    out.flush();
  }

  /**
   * Asks the copy running in {@code dir}, if any, to check itself in; empty when none runs (no
   * socket, or a stale one nobody answers on). A refusal comes back as the running copy's error.
   */
  static Optional<OfflineCopy.CheckinReport> requestCheckin(Path dir, String token, boolean keep, boolean force)
      throws IOException {
    Path sock = dir.resolve(CONTROL);
    if (!Files.exists(sock)) {
      return Optional.empty();
    }
    SocketChannel c;
    try {
      c = SocketChannel.open(UnixDomainSocketAddress.of(sock));
    } catch (IOException e) {
      return Optional.empty(); // a killed copy's socket
    }
    try (c) {
      OutputStream out = Channels.newOutputStream(c);
      out.write(JSON.writeValueAsBytes(new Request("checkin", token, keep, force)));
      out.write('\n');
      out.flush();
      String line = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8))
          .readLine();
      if (line == null) {
        throw new IOException("the running copy in " + dir + " closed the control socket without answering");
      }
      Answer a = JSON.readValue(line, Answer.class);
      if (a.error() != null) {
        throw new IOException(a.error());
      }
      return Optional.of(a.report());
    }
  }

  /** Checks and opens the copy in {@code dir} and exports its disks on {@code listen}. */
  public static OfflineRun start(Path dir, char[] passphrase, InetSocketAddress listen) throws IOException {
    OfflineCopy.Opened opened = OfflineCopy.open(dir, passphrase, Instant.now());
    List<Volume> volumes = new ArrayList<>();
    try {
      for (String name : opened.volumes()) {
        volumes.add(opened.store().volume(name));
      }
    } catch (IOException | RuntimeException e) {
      closeAfterFailure(volumes, opened, e);
      throw e;
    }
    return serve(dir, passphrase, opened, volumes, List.copyOf(volumes), null, listen);
  }

  /**
   * Exports {@code devices} (one per disk of {@code opened}, in VM order, over {@code volumes}) and
   * listens on the control socket; takes over {@code opened} and {@code volumes}, closing them on
   * failure and at {@link #close}, where {@code onStop} (may be null) runs once the exports stopped.
   */
  static OfflineRun serve(Path dir, char[] passphrase, OfflineCopy.Opened opened, List<Volume> volumes,
      List<? extends io.vstore.blockstore.BlockDevice> devices, StreamingDisk.IoAction onStop,
      InetSocketAddress listen) throws IOException {
    try {
      ExportRegistry registry = new ExportRegistry();
      for (int i = 0; i < devices.size(); i++) {
        String name = opened.volumes().get(i);
        registry.add(new Export(name, "offline copy of VM " + opened.vm() + ": " + name, devices.get(i), false,
            List.of()));
      }
      NbdServer server = NbdServer.start(registry,
          new NbdServer.Options(listen.getAddress(), listen.getPort(), null, false));
      ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vstore-offline-clock");
        t.setDaemon(true);
        return t;
      });
      char[] pass = passphrase.clone();
      ticker.scheduleAtFixedRate(() -> {
        try {
          OfflineCopy.touch(dir, pass, Instant.now());
        } catch (IOException | RuntimeException e) {
          System.getLogger("io.vstore.offline").log(System.Logger.Level.WARNING,
              "cannot record the time in " + dir + ": " + e.getMessage());
        }
      }, 1, 1, TimeUnit.MINUTES);
      OfflineRun run = new OfflineRun(opened, volumes, server, ticker, dir, pass);
      run.onStop = onStop;
      try {
        run.listen();
      } catch (IOException | RuntimeException e) {
        run.close();
        throw e;
      }
      return run;
    } catch (IOException | RuntimeException e) {
      closeAfterFailure(volumes, opened, e);
      throw e;
    }
  }

  /** Closes {@code volumes} and {@code opened} after {@code failure}, keeping what closing throws as suppressed. */
  private static void closeAfterFailure(List<Volume> volumes, OfflineCopy.Opened opened, Exception failure)
      throws IOException {
    for (Volume v : volumes) {
      try {
        v.close();
      } catch (IOException suppressed) {
        failure.addSuppressed(suppressed);
      }
    }
    opened.close();
  }

  /** Returns the NBD address the disks are served on. */
  public InetSocketAddress address() {
    return server.address();
  }

  /** Returns the export names (the disks' volume names, in VM order). */
  public List<String> exports() {
    return opened.volumes();
  }

  /** Returns the opened copy (its policy, VM name and configuration). */
  public OfflineCopy.Opened copy() {
    return opened;
  }

  @Override
  public void close() throws IOException {
    ticker.shutdownNow();
    IOException failure = null;
    if (control != null) {
      try {
        control.close();
        controlThread.join();
        Files.deleteIfExists(dir.resolve(CONTROL));
      } catch (IOException e) {
        failure = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      server.close();
    } catch (IOException e) {
      failure = e;
    }
    if (onStop != null) {
      try {
        onStop.run();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    for (Volume v : volumes) {
      try {
        v.close();
      } catch (IOException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    try {
      opened.close();
    } catch (IOException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
