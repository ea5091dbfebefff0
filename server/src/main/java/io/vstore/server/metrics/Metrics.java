package io.vstore.server.metrics;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.vstore.blockstore.store.Alarm;
import io.vstore.blockstore.store.CleanerStats;
import io.vstore.blockstore.store.DatastoreInfo;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Router;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import io.vstore.server.jobs.Jobs;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The daemon's Prometheus metrics, served at {@code /metrics} in the text format 0.0.4: each
 * datastore's capacity, provisioned and allocated bytes and alarm level; each volume's I/O
 * (bytes, operations by kind, a latency histogram; series of deleted volumes go with them);
 * NBD connections; running jobs' progress; the cleaner's work; the JVM. Labels are
 * {@code datastore} and {@code volume} (plus {@code kind}, {@code level}, {@code job} where
 * named), never anything per request. The JVM's metrics are those {@link JvmGauges} reads without a
 * safepoint. Also watches the capacity alarms, publishing them as
 * events and, with {@code --alarm-webhook}, posting them to a URL.
 */
public final class Metrics implements Closeable {
  /** The path metrics are served at (outside /api/v1, where scrapers expect them). */
  public static final String PATH = "/metrics";
  /** How long one reading of the datastores' figures serves the gauges: one scrape reads them once. */
  private static final long SAMPLE_NANOS = 100_000_000L;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final List<ManagedDatastore> datastores;
  private final List<VolumeIo.Observer> observers = new ArrayList<>();
  private final AlarmWatcher alarms;
  private final AlarmWebhook webhook;
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  /**
   * The one platform thread that formats scrapes. The text writer writes the exposition a
   * character at a time through a locked {@code BufferedWriter}: on a virtual thread that work held
   * one of the two carriers the NBD connections' virtual threads share, and the JDK sizes such a
   * writer's buffer small on a virtual thread and grows it copy by copy. Scrapes queue here instead.
   */
  private final ExecutorService formatter = Executors.newSingleThreadExecutor(
      Thread.ofPlatform().name("vstore-metrics").daemon().factory());
  private final Object pendingLock = new Object();
  /** The scrape queued on the metrics thread and not started yet, which new callers join; or null. */
  @GuardedBy("pendingLock")
  private CompletableFuture<byte[]> pending;
  /** The formatted text, reused from scrape to scrape: confined to the metrics thread. */
  private final ByteArrayOutputStream text = new ByteArrayOutputStream(64 << 10);
  private volatile IntSupplier nbdConnections;
  private volatile Supplier<List<JobInfo>> jobs;
  @GuardedBy("this")
  private Map<ManagedDatastore, DatastoreInfo> sample = Map.of();
  @GuardedBy("this")
  private long sampledAt;

  private Metrics(List<ManagedDatastore> datastores, EventBus events, URI alarmWebhook, Duration alarmInterval,
      Duration webhookBackoff) {
    this.datastores = List.copyOf(datastores);
    VolumeIo io = new VolumeIo(registry);
    for (ManagedDatastore ds : this.datastores) {
      VolumeIo.Observer o = io.observer(ds.name());
      observers.add(o);
      ds.store().setIoObserver(o);
    }
    registerDatastoreGauges();
    registerCleaner();
    GaugeWithCallback.builder().name("vstore_nbd_connections")
        .help("NBD client connections open now, over all exports.")
        .callback(cb -> {
          IntSupplier s = nbdConnections;
          if (s != null) {
            cb.call(s.getAsInt());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("vstore_job_progress_ratio")
        .help("How far each running job is, from 0 to 1 (jobs whose total is not known yet are left out).")
        .labelNames("datastore", "job", "kind")
        .callback(cb -> {
          Supplier<List<JobInfo>> s = jobs;
          if (s == null) {
            return;
          }
          for (JobInfo j : s.get()) {
            if (j.state() == JobState.RUNNING && j.total() > 0) {
              cb.call(Math.min(1.0, (double) j.done() / j.total()), String.valueOf(j.datastore()), j.id(), j.kind());
            }
          }
        }).register(registry);
    JvmGauges.register(registry);
    this.webhook = alarmWebhook == null ? null
        : new AlarmWebhook(alarmWebhook, AlarmWebhook.ATTEMPTS, webhookBackoff, AlarmWebhook.QUEUE);
    this.alarms = new AlarmWatcher(this.datastores, events, e -> {
      if (webhook != null) {
        webhook.offer(e);
      }
    }, alarmInterval);
  }

  /**
   * Starts the metrics of {@code datastores}: installs their I/O observers and starts watching
   * their alarms, publishing them on {@code events} and, if {@code alarmWebhook} is not null,
   * posting them there.
   */
  public static Metrics start(List<ManagedDatastore> datastores, EventBus events, URI alarmWebhook) {
    return new Metrics(datastores, events, alarmWebhook, AlarmWatcher.INTERVAL, AlarmWebhook.FIRST_BACKOFF);
  }

  /** Starts as {@link #start} does, with a faster alarm watch and webhook backoff, for tests. */
  static Metrics start(List<ManagedDatastore> datastores, EventBus events, URI alarmWebhook, Duration alarmInterval,
      Duration webhookBackoff) {
    return new Metrics(datastores, events, alarmWebhook, alarmInterval, webhookBackoff);
  }

  private void registerDatastoreGauges() {
    GaugeWithCallback.builder().name("vstore_datastore_capacity_bytes").unit(Unit.BYTES)
        .help("The datastore's capacity limit: the configured one, or what it uses plus the file system's free space.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.capacity(), ds.name()))).register(registry);
    GaugeWithCallback.builder().name("vstore_datastore_provisioned_bytes").unit(Unit.BYTES)
        .help("The sum of the datastore's volumes' virtual sizes.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.provisioned(), ds.name()))).register(registry);
    GaugeWithCallback.builder().name("vstore_datastore_allocated_bytes").unit(Unit.BYTES)
        .help("Bytes held by the datastore's live records.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.allocated(), ds.name()))).register(registry);
    GaugeWithCallback.builder().name("vstore_datastore_used_bytes").unit(Unit.BYTES)
        .help("Bytes the datastore's segment files occupy: allocated plus what the cleaner has yet to reclaim.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.used(), ds.name()))).register(registry);
    GaugeWithCallback.builder().name("vstore_metadata_cache_bytes").unit(Unit.BYTES)
        .help("Bytes of block-map and record-state pages the datastore holds in memory (bounded by its budget).")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.metadataCache().used(), ds.name()))).register(registry);
    GaugeWithCallback.builder().name("vstore_metadata_cache_budget_bytes").unit(Unit.BYTES)
        .help("The datastore's memory budget for metadata pages.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.metadataCache().budget(), ds.name()))).register(registry);
    CounterWithCallback.builder().name("vstore_metadata_cache_evictions_total")
        .help("Metadata pages evicted to stay within the budget since the datastore was opened.")
        .labelNames("datastore")
        .callback(cb -> sample().forEach((ds, info) -> cb.call(info.metadataCache().evictions(), ds.name())))
        .register(registry);
    GaugeWithCallback.builder().name("vstore_datastore_alarm")
        .help("The datastore's capacity alarm: 1 for the level raised now (warning or critical), else 0.")
        .labelNames("datastore", "level")
        .callback(cb -> sample().forEach((ds, info) -> {
          Alarm.Level current = null;
          for (Alarm a : info.alarms()) {
            if (current == null || a.level().compareTo(current) > 0) {
              current = a.level();
            }
          }
          for (Alarm.Level level : Alarm.Level.values()) {
            cb.call(level == current ? 1 : 0, ds.name(), AlarmWatcher.label(level));
          }
        })).register(registry);
  }

  private void registerCleaner() {
    CounterWithCallback.builder().name("vstore_cleaner_runs_total")
        .help("Cleaning passes the datastore's cleaner has made since the daemon opened it.")
        .labelNames("datastore")
        .callback(cb -> cleaner((ds, s) -> cb.call(s.runs(), ds))).register(registry);
    CounterWithCallback.builder().name("vstore_cleaner_segments_cleaned_total")
        .help("Segment files the cleaner rewrote and deleted.")
        .labelNames("datastore")
        .callback(cb -> cleaner((ds, s) -> cb.call(s.segmentsCleaned(), ds))).register(registry);
    CounterWithCallback.builder().name("vstore_cleaner_moved_bytes_total").unit(Unit.BYTES)
        .help("Bytes of live records the cleaner copied out of the segments it cleaned.")
        .labelNames("datastore")
        .callback(cb -> cleaner((ds, s) -> cb.call(s.bytesMoved(), ds))).register(registry);
    CounterWithCallback.builder().name("vstore_cleaner_reclaimed_bytes_total").unit(Unit.BYTES)
        .help("File bytes the cleaner released, less what it copied.")
        .labelNames("datastore")
        .callback(cb -> cleaner((ds, s) -> cb.call(s.bytesReclaimed(), ds))).register(registry);
  }

  private void cleaner(java.util.function.BiConsumer<String, CleanerStats> each) {
    for (ManagedDatastore ds : datastores) {
      try {
        each.accept(ds.name(), ds.store().cleanerStats());
      } catch (RuntimeException e) {
        // closing: no figures from this datastore in this scrape
      }
    }
  }

  /** Returns each open datastore's figures, read at most once per scrape. */
  private synchronized Map<ManagedDatastore, DatastoreInfo> sample() {
    long now = System.nanoTime();
    if (sampledAt == 0 || now - sampledAt > SAMPLE_NANOS) {
      Map<ManagedDatastore, DatastoreInfo> m = new LinkedHashMap<>();
      for (ManagedDatastore ds : datastores) {
        try {
          m.put(ds, ds.store().info());
        } catch (RuntimeException e) {
          // closing: no figures from this datastore in this scrape
        }
      }
      sample = m;
      sampledAt = now;
    }
    return sample;
  }

  /** Reports the NBD connections open now, as {@code supplier} counts them. */
  public void trackNbdConnections(IntSupplier supplier) {
    nbdConnections = supplier;
  }

  /** Reports the progress of {@code jobs}' running jobs. */
  public void trackJobs(Jobs jobs) {
    this.jobs = jobs::list;
  }

  /** Returns the registry, for parts of the daemon that add metrics of their own. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** Adds {@code GET /metrics} (scope read on TCP) to {@code router}. */
  public void addRoutes(Router router) {
    router.add("GET", PATH, Scope.READ, "Prometheus metrics, text format 0.0.4.",
        ex -> ex.send(200, PrometheusTextFormatWriter.CONTENT_TYPE, scrape()));
  }

  /**
   * Returns every metric in the text format 0.0.4, read after this call began. The metrics thread
   * formats it while the caller waits; callers that arrive while a scrape waits to start share it,
   * so one thread keeps up with any number of scrapers (200 API clients, a sixth of whose reads
   * are scrapes, queued faster than one thread formats them one by one).
   */
  public byte[] scrape() throws IOException {
    CompletableFuture<byte[]> mine;
    synchronized (pendingLock) {
      if (pending == null) {
        CompletableFuture<byte[]> next = new CompletableFuture<>();
        try {
          formatter.execute(() -> {
            synchronized (pendingLock) {
              pending = null; // started: whoever comes now needs a later reading
            }
            try {
              next.complete(format());
            } catch (IOException | RuntimeException e) {
              next.completeExceptionally(e);
            }
          });
        } catch (RejectedExecutionException e) {
          throw new IOException("the daemon is shutting down: no metrics", e);
        }
        pending = next;
      }
      mine = pending;
    }
    try {
      return mine.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw new IllegalStateException("formatting the metrics failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the scrape goes on for the others who wait for it
      throw new InterruptedIOException("interrupted while the metrics were formatted");
    }
  }

  /** Formats every metric; runs on the metrics thread only, which owns {@link #text}. */
  private byte[] format() throws IOException {
    for (int i = 0; i < datastores.size(); i++) {
      ManagedDatastore ds = datastores.get(i);
      observers.get(i).retainExisting(ds.store()::hasVolume);
    }
    text.reset();
    writer.write(text, registry.scrape());
    return text.toByteArray();
  }

  /** Stops watching alarms and posting them, and detaches from the datastores' I/O. */
  @Override
  public void close() {
    formatter.shutdownNow();
    // A scrape queued and not started never runs now: its callers get an error, not a wait forever.
    synchronized (pendingLock) {
      if (pending != null) {
        pending.completeExceptionally(new IOException("the daemon is shutting down: no metrics"));
        pending = null;
      }
    }
    alarms.close();
    if (webhook != null) {
      webhook.close();
    }
    for (ManagedDatastore ds : datastores) {
      ds.store().setIoObserver(null);
    }
  }
}
