package io.vstore.offline.client;

import io.vstore.blockstore.store.Volume;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
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
 * clock set back later is detected. {@link #close} stops the exports and flushes the datastore.
 */
public final class OfflineRun implements Closeable {
  private final OfflineCopy.Opened opened;
  private final List<Volume> volumes;
  private final NbdServer server;
  private final ScheduledExecutorService ticker;

  private OfflineRun(OfflineCopy.Opened opened, List<Volume> volumes, NbdServer server,
      ScheduledExecutorService ticker) {
    this.opened = opened;
    this.volumes = volumes;
    this.server = server;
    this.ticker = ticker;
  }

  /** Checks and opens the copy in {@code dir} and exports its disks on {@code listen}. */
  public static OfflineRun start(Path dir, char[] passphrase, InetSocketAddress listen) throws IOException {
    OfflineCopy.Opened opened = OfflineCopy.open(dir, passphrase, Instant.now());
    List<Volume> volumes = new ArrayList<>();
    try {
      ExportRegistry registry = new ExportRegistry();
      for (String name : opened.volumes()) {
        Volume v = opened.store().volume(name);
        volumes.add(v);
        registry.add(new Export(name, "offline copy of VM " + opened.vm() + ": " + name, v, false, List.of()));
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
      return new OfflineRun(opened, volumes, server, ticker);
    } catch (IOException | RuntimeException e) {
      for (Volume v : volumes) {
        try {
          v.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      opened.close();
      throw e;
    }
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
    try {
      server.close();
    } catch (IOException e) {
      failure = e;
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
