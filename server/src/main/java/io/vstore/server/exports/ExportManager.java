package io.vstore.server.exports;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.store.ChangeIdException;
import io.vstore.blockstore.store.DatastoreException;
import io.vstore.nbd.ConnectionListener;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdClient;
import io.vstore.nbd.NbdServer;
import io.vstore.server.DatastoreHost;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.http.ApiException;
import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * The daemon's NBD exports: one {@link NbdServer} for all of them, exports added and removed while
 * it runs, each kept in its datastore's {@code exports.json} and added again when the daemon starts.
 */
public final class ExportManager implements Closeable {
  private static final System.Logger LOG = System.getLogger(ExportManager.class.getName());
  /** Export names: they appear in URL paths and NBD URIs, so no '/', spaces or control characters. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@+:-]{0,254}");

  /**
   * One export with the datastore that keeps it; {@code seq} orders listings by age; {@code kept}
   * says whether it is saved in {@code exports.json} (an export added with {@link #addOpened} is
   * not, until {@link #keep}).
   */
  private record Entry(long seq, ManagedDatastore datastore, OpenedExport opened, ExportStore.Saved saved,
      boolean kept) {
    Entry(long seq, ManagedDatastore datastore, OpenedExport opened, ExportStore.Saved saved) {
      this(seq, datastore, opened, saved, true);
    }
  }

  private final DatastoreHost host;
  private final EventBus events;
  private final ExportRegistry registry = new ExportRegistry();
  /** The server, or null when the daemon runs without NBD. */
  private final NbdServer server;
  /** Whether clients can (or, off loopback, must) start TLS. */
  private final boolean tls;
  private final AtomicLong nextSeq = new AtomicLong();
  /**
   * Read without the lock (connection events look up datastores here while {@link #remove} holds
   * the lock and waits for those very connections), changed only under it.
   */
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final Object lock = new Object();
  @GuardedBy("lock")
  private boolean closed;

  private ExportManager(DatastoreHost host, EventBus events, InetSocketAddress listen, SSLContext tls)
      throws IOException {
    this.host = host;
    this.events = events;
    this.tls = tls != null;
    if (listen == null) {
      this.server = null;
      return;
    }
    // TLS is offered when the daemon has a certificate, and required off the loopback address.
    boolean require = tls != null && !listen.getAddress().isLoopbackAddress();
    NbdServer.Options options = new NbdServer.Options(listen.getAddress(), listen.getPort(), tls, require);
    try {
      this.server = NbdServer.start(registry, options, connectionEvents());
    } catch (BindException e) {
      throw new BindException("cannot serve NBD on " + ExportInfo.address(listen) + ": " + e.getMessage()
          + " (another NBD server there? choose another with --nbd-listen HOST:PORT)");
    }
  }

  /** Returns the listener that announces clients attaching and leaving as events. */
  private ConnectionListener connectionEvents() {
    return new ConnectionListener() {
      @Override
      public void connected(NbdClient client) {
        announce("nbd.connected", client, false);
      }

      @Override
      public void disconnected(NbdClient client) {
        announce("nbd.disconnected", client, true);
      }
    };
  }

  /**
   * Starts the NBD server on {@code listen} (null: no NBD) and adds the exports every datastore of
   * {@code host} saved; an export that cannot be added again (its volume is gone, say) is logged,
   * announced as {@code export.skipped} and dropped from its file.
   *
   * @param tls the context for STARTTLS, or null
   * @throws IOException if the server cannot listen or an {@code exports.json} is unreadable
   */
  public static ExportManager start(DatastoreHost host, EventBus events, InetSocketAddress listen, SSLContext tls)
      throws IOException {
    ExportManager m = new ExportManager(host, events, listen, tls);
    try {
      if (m.server != null) {
        for (ManagedDatastore ds : host.all()) {
          m.restore(ds);
        }
      }
      return m;
    } catch (IOException | RuntimeException e) {
      try {
        m.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private void restore(ManagedDatastore ds) throws IOException {
    List<ExportStore.Saved> saved = ExportStore.load(ds.path());
    boolean dropped = false;
    synchronized (lock) {
      for (ExportStore.Saved s : saved) {
        try {
          addLocked(ds, s);
        } catch (IOException | RuntimeException e) {
          dropped = true;
          String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
          LOG.log(Level.WARNING, "skipping export " + s.name() + " (" + s.spec() + ") of " + ds + ": " + reason);
          events.publish("export.skipped", ds.name(), Map.of("name", s.name(), "spec", s.spec(), "reason", reason));
        }
      }
      if (dropped) {
        saveLocked(ds);
      }
    }
  }

  /**
   * Adds an export and saves it.
   *
   * @param spec {@code VOLUME}, {@code VOLUME@SNAP} or an absolute image file path
   * @param name the export name, or null for the volume, snapshot or file name
   * @param datastore the datastore's name, or null: the one holding the volume (the first for files)
   * @throws IllegalArgumentException for a bad spec or name, a missing volume or file, or an unknown change id
   * @throws IllegalStateException if the name is taken or the daemon serves no NBD
   */
  public ExportInfo add(String spec, String name, boolean readOnly, List<String> dirtyBitmaps, String datastore)
      throws IOException {
    ExportSource source = ExportSource.parse(spec, null);
    if (dirtyBitmaps != null && dirtyBitmaps.stream().anyMatch(java.util.Objects::isNull)) {
      throw new IllegalArgumentException("dirty bitmaps are change ids, not null: " + dirtyBitmaps);
    }
    List<String> bitmaps = dirtyBitmaps == null ? List.of() : List.copyOf(dirtyBitmaps);
    Entry added;
    synchronized (lock) {
      if (server == null) {
        throw new IllegalStateException("this daemon serves no NBD (start vstore serve with --nbd-listen HOST:PORT)");
      }
      if (closed) {
        throw new IllegalStateException("the daemon is shutting down");
      }
      ManagedDatastore ds = datastoreFor(source, datastore);
      String exportName = name == null ? source.defaultName() : name;
      try {
        added = addLocked(ds, new ExportStore.Saved(exportName, source.spec(), readOnly, bitmaps));
      } catch (ChangeIdException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      } catch (DatastoreException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("no ")) {
          throw new IllegalArgumentException(e.getMessage(), e); // the spec names nothing: a bad request
        }
        throw e;
      }
      try {
        saveLocked(ds);
      } catch (IOException | RuntimeException e) {
        drop(added);
        throw e;
      }
    }
    ExportInfo info = info(added);
    events.publish("export.added", added.datastore().name(), Map.of("name", info.name(), "spec", info.spec(),
        "readOnly", info.readOnly(), "uri", info.uri()));
    return info;
  }

  @GuardedBy("lock")
  private Entry addLocked(ManagedDatastore ds, ExportStore.Saved s) throws IOException {
    checkName(s.name());
    if (entries.containsKey(s.name())) {
      throw new IllegalStateException("export " + s.name() + " already exists");
    }
    ExportSource source = ExportSource.parse(s.spec(), null);
    if (source instanceof ExportSource.ImageFileSource f && !Files.isRegularFile(f.path())) {
      throw new IllegalArgumentException("no image file " + f.path());
    }
    OpenedExport opened;
    try {
      opened = OpenedExport.open(s.name(), source, s.readOnly(), s.dirtyBitmaps(), ds::store);
    } catch (IOException e) {
      if (source instanceof ExportSource.ImageFileSource) {
        // The file is there but is no disk image vstore can open: the caller named the wrong thing.
        throw new IllegalArgumentException("cannot export " + source.spec() + ": " + e.getMessage(), e);
      }
      throw e;
    }
    Entry e = new Entry(nextSeq.getAndIncrement(), ds, opened, s);
    // Known before clients can reach it, so their events name its datastore.
    entries.put(s.name(), e);
    try {
      registry.add(opened.export());
    } catch (RuntimeException ex) {
      entries.remove(s.name());
      opened.close();
      throw ex;
    }
    return e;
  }

  /**
   * Adds an export of a device the caller opened (an instant restore's volume, a mounted backup
   * point). It is not saved in {@code exports.json}: the caller adds it again after a restart, or
   * calls {@link #keep} once it is a plain volume export. Removing it closes {@code device}; so does
   * a failure here.
   *
   * @param datastore the datastore's name, or null for the first
   * @param source what it serves: a {@link ExportSource.VolumeSource} (then the volume cannot be
   *     deleted while exported) or a {@link ExportSource.DeviceSource}
   * @throws IllegalArgumentException for a bad name
   * @throws IllegalStateException if the name is taken or the daemon serves no NBD
   */
  public ExportInfo addOpened(String datastore, String name, ExportSource source,
      io.vstore.blockstore.BlockDevice device, boolean readOnly) throws IOException {
    Entry added;
    try {
      synchronized (lock) {
        if (server == null) {
          throw new IllegalStateException("this daemon serves no NBD (start vstore serve with --nbd-listen HOST:PORT)");
        }
        if (closed) {
          throw new IllegalStateException("the daemon is shutting down");
        }
        checkName(name);
        if (entries.containsKey(name)) {
          throw new IllegalStateException("export " + name + " already exists");
        }
        ManagedDatastore ds = host.byName(datastore);
        OpenedExport opened = new OpenedExport(
            new io.vstore.nbd.Export(name, source.spec(), device, readOnly || device.isReadOnly(), List.of()), source);
        added = new Entry(nextSeq.getAndIncrement(), ds, opened,
            new ExportStore.Saved(name, source.spec(), readOnly, List.of()), false);
        entries.put(name, added);
        try {
          registry.add(opened.export());
        } catch (RuntimeException ex) {
          entries.remove(name);
          throw ex;
        }
      }
    } catch (RuntimeException e) {
      try {
        device.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    ExportInfo info = info(added);
    events.publish("export.added", added.datastore().name(), Map.of("name", info.name(), "spec", info.spec(),
        "readOnly", info.readOnly(), "uri", info.uri()));
    return info;
  }

  /**
   * Saves export {@code name} (added with {@link #addOpened} over a volume) in {@code exports.json}
   * from now on, as a plain export of its volume: what a finished instant restore leaves.
   *
   * @throws IllegalStateException if there is no such export or it serves no volume
   */
  public void keep(String name) throws IOException {
    synchronized (lock) {
      Entry e = entries.get(name);
      if (e == null) {
        throw new IllegalStateException("no export " + name);
      }
      if (!(e.opened().source() instanceof ExportSource.VolumeSource)) {
        throw new IllegalStateException("export " + name + " serves no volume; it cannot be kept");
      }
      if (e.kept()) {
        return;
      }
      Entry kept = new Entry(e.seq(), e.datastore(), e.opened(), e.saved(), true);
      entries.put(name, kept);
      saveLocked(kept.datastore());
    }
  }

  /**
   * Moves every export of volume {@code volume}'s head from datastore {@code from} to {@code to}
   * (both names) once the mover has switched it over: the exports keep their devices, whose handles
   * forward to the new volume, and their clients; both {@code exports.json} files are rewritten, so
   * a restart opens the volume where it now is. Returns the names of the exports moved.
   */
  public List<String> moveVolume(String from, String volume, String to) throws IOException {
    List<String> moved = new ArrayList<>();
    synchronized (lock) {
      ManagedDatastore source = host.byName(from);
      ManagedDatastore target = host.byName(to);
      for (Entry e : sorted()) {
        if (e.datastore() == source && e.opened().source() instanceof ExportSource.VolumeSource v
            && v.ref().volume().equals(volume) && !v.ref().isSnapshot()) {
          entries.put(e.saved().name(), new Entry(e.seq(), target, e.opened(), e.saved(), e.kept()));
          moved.add(e.saved().name());
        }
      }
      if (!moved.isEmpty()) {
        saveLocked(target); // first: a crash between the two leaves the export twice, never nowhere
        saveLocked(source);
      }
    }
    for (String name : moved) {
      events.publish("export.moved", to, Map.of("name", name, "volume", volume, "from", from));
    }
    return moved;
  }

  /** Returns whether export {@code name} exists. */
  public boolean has(String name) {
    return entries.containsKey(name);
  }

  /** Throws unless {@code name} can be an export name. */
  static void checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad export name '" + name
          + "': use 1-255 letters, digits, '.', '_', '-', '@', '+' or ':', starting with a letter or digit");
    }
  }

  private ManagedDatastore datastoreFor(ExportSource source, String datastore) {
    if (datastore != null || !(source instanceof ExportSource.VolumeSource v)) {
      return host.byName(datastore);
    }
    List<ManagedDatastore> holding = host.all().stream().filter(ds -> ds.store().hasVolume(v.ref().volume())).toList();
    if (holding.size() > 1) {
      throw new IllegalArgumentException("volume " + v.ref().volume() + " exists in datastores "
          + String.join(", ", holding.stream().map(ManagedDatastore::name).toList()) + ": name one with datastore");
    }
    return holding.isEmpty() ? host.byName(null) : holding.getFirst();
  }

  /**
   * Removes export {@code name}: new clients are refused at once, then connected ones are
   * disconnected after their requests in flight, and the device is flushed and released.
   *
   * @param force whether to disconnect clients; without it, an export with clients is refused
   * @return the export as it was just before removal, with the clients it had
   * @throws ApiException 404 if there is no such export
   * @throws IllegalStateException if clients are connected and {@code force} is false
   */
  public ExportInfo remove(String name, boolean force) throws IOException {
    ExportInfo before;
    synchronized (lock) {
      Entry e = entries.get(name);
      if (e == null) {
        throw ApiException.notFound("no export " + name);
      }
      before = info(e);
      if (!before.clients().isEmpty() && !force) {
        throw new IllegalStateException("export " + name + " has " + before.clients().size() + " connected client"
            + (before.clients().size() == 1 ? "" : "s") + " ("
            + String.join(", ", before.clients().stream().map(ExportInfo.Client::remote).toList())
            + "): disconnect " + (before.clients().size() == 1 ? "it" : "them") + " first, or remove with force");
      }
      drop(e);
      saveLocked(e.datastore());
    }
    events.publish("export.removed", before.datastore(), Map.of("name", name, "spec", before.spec(),
        "disconnected", before.clients().size()));
    return before;
  }

  /** Unregisters {@code e} (disconnecting its clients) and closes its device. */
  @GuardedBy("lock")
  private void drop(Entry e) throws IOException {
    registry.remove(e.saved().name());
    entries.remove(e.saved().name());
    e.opened().close();
  }

  @GuardedBy("lock")
  private void saveLocked(ManagedDatastore ds) throws IOException {
    List<ExportStore.Saved> kept = sorted().stream().filter(e -> e.datastore() == ds && e.kept()).map(Entry::saved)
        .toList();
    ExportStore.save(ds.path(), kept);
  }

  private List<Entry> sorted() {
    List<Entry> all = new ArrayList<>(entries.values());
    all.sort(Comparator.comparingLong(Entry::seq));
    return all;
  }

  /** Returns every export, oldest first, with its connected clients. */
  public List<ExportInfo> list() {
    return sorted().stream().map(this::info).toList();
  }

  /**
   * Returns export {@code name}.
   *
   * @throws ApiException 404 if there is none
   */
  public ExportInfo get(String name) {
    Entry e = entries.get(name);
    if (e == null) {
      throw ApiException.notFound("no export " + name);
    }
    return info(e);
  }

  private ExportInfo info(Entry e) {
    ExportSource source = e.opened().source();
    String kind = switch (source) {
      case ExportSource.ImageFileSource f -> "file";
      case ExportSource.DeviceSource d -> d.kind();
      case ExportSource.VolumeSource v -> v.ref().isSnapshot() ? "snapshot" : "volume";
    };
    String name = e.saved().name();
    List<ExportInfo.Client> clients = server.clients(name).stream().map(ExportInfo.Client::of).toList();
    return new ExportInfo(name, e.saved().spec(), kind, e.datastore().name(), e.opened().device().size(),
        e.opened().export().readOnly(), e.saved().dirtyBitmaps(), uri(name), clients);
  }

  private String uri(String name) {
    InetSocketAddress a = server.address();
    String where = a.getAddress().isAnyLocalAddress() ? "localhost:" + a.getPort() : ExportInfo.address(a);
    return (tls ? "nbds" : "nbd") + "://" + where + "/" + name;
  }

  private void announce(String type, NbdClient client, boolean withBytes) {
    Entry e = entries.get(client.export());
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("export", client.export());
    data.put("clientId", client.id());
    data.put("remote", ExportInfo.address(client.remote()));
    data.put("tls", client.tls());
    if (withBytes) {
      data.put("bytesRead", client.bytesRead());
      data.put("bytesWritten", client.bytesWritten());
    }
    events.publish(type, e == null ? null : e.datastore().name(), data);
  }

  /**
   * Refuses to delete {@code volume} of {@code datastore} (all of it when {@code snapshot} is null,
   * else that snapshot) while an export serves it: its clients would lose their disk mid-I/O.
   */
  public void checkDeletable(ManagedDatastore datastore, String volume, String snapshot) {
    List<String> names = sorted().stream()
        .filter(e -> e.datastore() == datastore && e.opened().source() instanceof ExportSource.VolumeSource v
            && v.ref().volume().equals(volume) && (snapshot == null || snapshot.equals(v.ref().snapshot())))
        .map(e -> e.saved().name()).toList();
    if (!names.isEmpty()) {
      String what = snapshot == null ? "volume " + volume : "snapshot " + volume + "@" + snapshot;
      throw new IllegalStateException("cannot delete " + what + ": it is exported over NBD as "
          + String.join(", ", names) + " (remove the export first: vstore export remove NAME)");
    }
  }

  /** Returns the number of open NBD connections (negotiating or attached), for metrics. */
  public int connectionCount() {
    return server == null ? 0 : server.connectionCount();
  }

  /** Returns the address the NBD server listens on, or null when the daemon serves no NBD. */
  public InetSocketAddress nbdAddress() {
    return server == null ? null : server.address();
  }

  /** Disconnects every client, stops the server and releases every device; {@code exports.json} stays as it is. */
  @Override
  public void close() throws IOException {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    IOException failure = null;
    if (server != null) {
      try {
        server.close();
      } catch (IOException e) {
        failure = e;
      }
    }
    synchronized (lock) {
      for (Entry e : sorted()) {
        try {
          registry.remove(e.saved().name());
          e.opened().close();
        } catch (IOException ex) {
          if (failure == null) {
            failure = ex;
          } else {
            failure.addSuppressed(ex);
          }
        }
      }
      entries.clear();
    }
    if (failure != null) {
      throw failure;
    }
  }
}
