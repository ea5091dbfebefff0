package io.vstore.server.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.vstore.blockstore.IoObserver;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The per-volume I/O metrics: bytes read and written, operations by kind, and a latency histogram,
 * labelled by datastore and volume. Each volume's data points are looked up once, on its first
 * operation, and kept; after that an operation costs a map lookup and a few adder increments.
 */
final class VolumeIo {
  /** Latency buckets in seconds, from a page-cache hit to a stalled disk. */
  static final double[] BUCKETS = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25, 0.5, 1, 2.5, 10};
  private static final IoObserver.Op[] OPS = IoObserver.Op.values();

  private final Counter readBytes;
  private final Counter writeBytes;
  private final Counter operations;
  private final Histogram latency;

  /** Registers the metric families in {@code registry}. */
  VolumeIo(PrometheusRegistry registry) {
    readBytes = Counter.builder().name("vstore_volume_read_bytes_total").unit(Unit.BYTES)
        .help("Bytes read from the volume (its snapshots included) by its users.")
        .labelNames("datastore", "volume").withoutExemplars().register(registry);
    writeBytes = Counter.builder().name("vstore_volume_write_bytes_total").unit(Unit.BYTES)
        .help("Bytes written to the volume by its users (zeroed and discarded ranges not included).")
        .labelNames("datastore", "volume").withoutExemplars().register(registry);
    operations = Counter.builder().name("vstore_volume_operations_total")
        .help("Completed operations on the volume, by kind: read, write, zero, discard, flush.")
        .labelNames("datastore", "volume", "kind").withoutExemplars().register(registry);
    latency = Histogram.builder().name("vstore_volume_io_seconds").unit(Unit.SECONDS)
        .help("How long the volume's operations took, every kind together.")
        .labelNames("datastore", "volume").classicOnly().classicUpperBounds(BUCKETS).withoutExemplars()
        .register(registry);
  }

  /** Returns the observer that feeds these metrics from datastore {@code datastore}'s volumes. */
  Observer observer(String datastore) {
    return new Observer(datastore);
  }

  /** One volume's data points. */
  private record Points(CounterDataPoint read, CounterDataPoint written, CounterDataPoint[] ops,
      DistributionDataPoint latency) {}

  /** Feeds the metrics from one datastore; installed as its {@link IoObserver}. */
  final class Observer implements IoObserver {
    private final String datastore;
    private final ConcurrentHashMap<String, Points> volumes = new ConcurrentHashMap<>();

    private Observer(String datastore) {
      this.datastore = datastore;
    }

    @Override
    public void completed(String volume, Op op, long bytes, long nanos) {
      Points p = volumes.get(volume);
      if (p == null) {
        p = volumes.computeIfAbsent(volume, this::points);
      }
      p.ops[op.ordinal()].inc();
      if (op == Op.READ) {
        p.read.inc(bytes);
      } else if (op == Op.WRITE) {
        p.written.inc(bytes);
      }
      p.latency.observe(nanos / 1e9);
    }

    private Points points(String volume) {
      CounterDataPoint[] ops = new CounterDataPoint[OPS.length];
      for (IoObserver.Op op : OPS) {
        ops[op.ordinal()] = operations.labelValues(datastore, volume, op.label());
      }
      return new Points(readBytes.labelValues(datastore, volume), writeBytes.labelValues(datastore, volume), ops,
          latency.labelValues(datastore, volume));
    }

    @Override
    public void volumeDeleted(String volume) {
      volumes.remove(volume);
      readBytes.remove(datastore, volume);
      writeBytes.remove(datastore, volume);
      for (IoObserver.Op op : OPS) {
        operations.remove(datastore, volume, op.label());
      }
      latency.remove(datastore, volume);
    }

    /**
     * Drops the series of volumes that no longer exist: an operation that completed just as its
     * volume was deleted may have brought them back after {@link #volumeDeleted}.
     */
    void retainExisting(Predicate<String> exists) {
      for (String volume : List.copyOf(volumes.keySet())) {
        if (!exists.test(volume)) {
          volumeDeleted(volume);
        }
      }
    }
  }
}
