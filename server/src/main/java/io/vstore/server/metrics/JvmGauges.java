package io.vstore.server.metrics;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmBufferPoolMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmClassLoadingMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmCompilationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryPoolAllocationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * The JVM's and the process's metrics, those a scrape can read without stopping the daemon's
 * threads. The client library's {@code JvmMetrics} set is not used whole: its thread metrics run
 * {@code ThreadMXBean.findDeadlockedThreads} and {@code findMonitorDeadlockedThreads} on every
 * scrape, each a safepoint that stops every thread, NBD workers included (measured on the loaded
 * 2-core VM: two per scrape, up to 25 ms each while fio read through an export), and count threads
 * by state by taking a {@code ThreadInfo} of every thread. The thread counts are kept, read from
 * the counters the JVM maintains anyway. The set's native-memory metrics are left out too: they
 * are empty unless the JVM runs with native memory tracking, which the daemon does not.
 */
final class JvmGauges {
  private JvmGauges() {}

  /** Registers the JVM's and the process's metrics in {@code registry}. */
  static void register(PrometheusRegistry registry) {
    JvmMemoryMetrics.builder().register(registry);
    JvmMemoryPoolAllocationMetrics.builder().register(registry);
    JvmBufferPoolMetrics.builder().register(registry);
    JvmGarbageCollectorMetrics.builder().register(registry);
    JvmClassLoadingMetrics.builder().register(registry);
    JvmCompilationMetrics.builder().register(registry);
    JvmRuntimeInfoMetric.builder().register(registry);
    ProcessMetrics.builder().register(registry);
    registerThreadCounts(registry, ManagementFactory.getThreadMXBean());
  }

  /** Registers the thread counts under the names the library gives them, from counters only. */
  private static void registerThreadCounts(PrometheusRegistry registry, ThreadMXBean threads) {
    GaugeWithCallback.builder().name("jvm_threads_current")
        .help("Current thread count of a JVM")
        .callback(cb -> cb.call(threads.getThreadCount())).register(registry);
    GaugeWithCallback.builder().name("jvm_threads_daemon")
        .help("Daemon thread count of a JVM")
        .callback(cb -> cb.call(threads.getDaemonThreadCount())).register(registry);
    GaugeWithCallback.builder().name("jvm_threads_peak")
        .help("Peak thread count of a JVM")
        .callback(cb -> cb.call(threads.getPeakThreadCount())).register(registry);
    CounterWithCallback.builder().name("jvm_threads_started_total")
        .help("Started thread count of a JVM")
        .callback(cb -> cb.call(threads.getTotalStartedThreadCount())).register(registry);
  }
}
