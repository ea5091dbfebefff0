package io.vstore.server.replica;

import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.vstore.blockstore.store.Datastore;
import io.vstore.engine.replica.ReplicaStatus;
import io.vstore.engine.replica.Replicas;
import io.vstore.nbd.client.ClientTls;
import io.vstore.nbd.client.NbdAddress;
import io.vstore.nbd.client.NbdBlockDevice;
import io.vstore.server.EventBus;
import io.vstore.server.ManagedDatastore;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * Runs the replica pairs of the daemon's datastores: resumes them at start, reaches NBD
 * secondaries (TLS trusting {@code $VSTORE_REPLICA_CA} when set, else the JDK's trust store),
 * turns state changes into {@code replica.*} events and exposes {@code vstore_replica_*} gauges.
 */
public final class ReplicaService implements Closeable {
  /** How long a disconnected pair waits between attempts to reach its secondary. */
  static final Duration RETRY = Duration.ofSeconds(2);
  /**
   * How long one request to an NBD secondary may take before the link counts as broken (the
   * property {@code vstore.replica.nbd-timeout-ms} shortens it for tests of a stalled link).
   */
  static final Duration NBD_REQUEST_TIMEOUT = Duration.ofMillis(Long.getLong("vstore.replica.nbd-timeout-ms", 30_000));

  private final Replicas replicas;
  private final List<ManagedDatastore> datastores;

  private ReplicaService(Replicas replicas, List<ManagedDatastore> datastores) {
    this.replicas = replicas;
    this.datastores = datastores;
  }

  /** Opens the pairs of {@code datastores}, publishing to {@code events} and registering gauges in {@code registry}. */
  public static ReplicaService start(List<ManagedDatastore> datastores, EventBus events, PrometheusRegistry registry)
      throws IOException {
    Map<Path, Datastore> byPath = new LinkedHashMap<>();
    for (ManagedDatastore ds : datastores) {
      byPath.put(ds.path(), ds.store());
    }
    String ca = System.getenv("VSTORE_REPLICA_CA");
    SSLContext tls = ca == null || ca.isEmpty() ? null : ClientTls.trusting(Path.of(ca));
    NbdBlockDevice.Options options = NbdBlockDevice.Options.defaults().withRequestTimeout(NBD_REQUEST_TIMEOUT);
    Replicas.RemoteOpener opener = uri -> {
      NbdAddress address = NbdAddress.parse(uri);
      return NbdBlockDevice.connect(address, address.tls() && tls != null ? options.withTls(tls) : options);
    };
    ReplicaService[] self = new ReplicaService[1];
    Replicas replicas = Replicas.open(byPath, opener, (event, status) -> {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("replica", status.id());
      data.put("role", status.role());
      data.put("volume", status.volume());
      data.put("peer", status.peer());
      data.put("state", status.state());
      data.put("epoch", status.epoch());
      if (status.lastError() != null) {
        data.put("error", status.lastError());
      }
      events.publish("replica." + event, self[0] == null ? null : self[0].datastoreName(status.datastore()), data);
    }, RETRY);
    self[0] = new ReplicaService(replicas, datastores);
    if (registry != null) {
      self[0].registerGauges(registry);
    }
    return self[0];
  }

  /** Returns the engine's registry of pairs. */
  public Replicas replicas() {
    return replicas;
  }

  String datastoreName(String path) {
    for (ManagedDatastore ds : datastores) {
      if (ds.path().toString().equals(path) || ds.store().path().toString().equals(path)) {
        return ds.name();
      }
    }
    return null;
  }

  private List<ReplicaStatus> statuses() {
    try {
      return replicas.list();
    } catch (IOException | RuntimeException e) {
      return List.of(); // a scrape must not fail because one datastore cannot answer now
    }
  }

  private void registerGauges(PrometheusRegistry registry) {
    GaugeWithCallback.builder().name("vstore_replica_bytes_behind").unit(Unit.BYTES)
        .help("Bytes the replica's secondary lacks (0 while in sync).")
        .labelNames("replica", "role", "volume", "state")
        .callback(cb -> {
          for (ReplicaStatus s : statuses()) {
            cb.call(s.bytesBehind(), s.id(), s.role(), s.volume(), s.state());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("vstore_replica_lag_seconds")
        .help("Seconds since the replica's secondary last held every acknowledged write (0 while in sync).")
        .labelNames("replica", "role", "volume", "state")
        .callback(cb -> {
          for (ReplicaStatus s : statuses()) {
            cb.call(s.lagSeconds(), s.id(), s.role(), s.volume(), s.state());
          }
        }).register(registry);
    GaugeWithCallback.builder().name("vstore_replica_sent_bytes").unit(Unit.BYTES)
        .help("Bytes the replica's syncs and resyncs copied since the daemon started.")
        .labelNames("replica", "volume")
        .callback(cb -> {
          for (ReplicaStatus s : statuses()) {
            if (s.role().equals("PRIMARY")) {
              cb.call(s.bytesSent(), s.id(), s.volume());
            }
          }
        }).register(registry);
    GaugeWithCallback.builder().name("vstore_replica_mirrored_bytes").unit(Unit.BYTES)
        .help("Bytes of client writes mirrored to the secondary since the daemon started.")
        .labelNames("replica", "volume")
        .callback(cb -> {
          for (ReplicaStatus s : statuses()) {
            if (s.role().equals("PRIMARY")) {
              cb.call(s.bytesMirrored(), s.id(), s.volume());
            }
          }
        }).register(registry);
  }

  /** Stops every pair; their records stay and they resume when the daemon starts again. */
  @Override
  public void close() throws IOException {
    replicas.close();
  }
}
