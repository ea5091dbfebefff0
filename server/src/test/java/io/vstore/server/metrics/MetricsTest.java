package io.vstore.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import io.vstore.server.jobs.Jobs;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /metrics} of a running daemon, read as a scraper reads it. */
class MetricsTest {
  @TempDir Path tmp;

  /** Returns every sample of the scrape: series (name and labels as written) to value. */
  static Map<String, Double> samples(String text) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return out;
  }

  /** Returns {@code n} random (incompressible, non-zero) bytes: zero blocks are stored as nothing. */
  static ByteBuffer random(int n) {
    byte[] b = new byte[n];
    new java.util.Random(n).nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  /** Asserts the scrape has series {@code key} with {@code value} (naming the series, not dumping them all). */
  static void assertSample(Map<String, Double> m, String key, double value) {
    assertThat(m.get(key)).as(key).isEqualTo(value);
  }

  private static Map<String, Double> scrape(TestDaemon d) throws Exception {
    TestDaemon.Reply r = d.unix("GET", "/metrics", null);
    assertThat(r.status()).isEqualTo(200);
    return samples(r.body());
  }

  @Test
  void volumeIoMovesItsCountersAndHistogramUnderDatastoreAndVolumeLabels() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName("ds").store();
      try (Volume v = store.createVolume("vm1", 1 << 20)) {
        v.write(0, random(8192));
        v.write(65536, random(4096));
        v.read(0, ByteBuffer.allocate(4096));
        v.writeZeroes(0, 4096, true);
        v.discard(8192, 4096);
        v.flush();
      }
      TestDaemon.Reply reply = d.tcp("GET", "/metrics", null, d.adminToken());
      assertThat(reply.status()).isEqualTo(200);
      assertThat(reply.contentType()).isEqualTo("text/plain");
      Map<String, Double> m = samples(reply.body());
      String vol = "datastore=\"ds\",volume=\"vm1\"";
      assertSample(m, "vstore_volume_write_bytes_total{" + vol + "}", 12288);
      assertSample(m, "vstore_volume_read_bytes_total{" + vol + "}", 4096);
      for (String[] kind : new String[][] {{"write", "2"}, {"read", "1"}, {"zero", "1"}, {"discard", "1"}, {"flush", "1"}}) {
        assertSample(m, "vstore_volume_operations_total{datastore=\"ds\",kind=\"" + kind[0] + "\",volume=\"vm1\"}",
            Double.parseDouble(kind[1]));
      }
      assertSample(m, "vstore_volume_io_seconds_count{" + vol + "}", 6);
      assertSample(m, "vstore_volume_io_seconds_bucket{" + vol + ",le=\"+Inf\"}", 6);
      // Every bound is there, and the cumulative counts never fall.
      double previous = 0;
      for (double bound : VolumeIo.BUCKETS) {
        String key = "vstore_volume_io_seconds_bucket{" + vol + ",le=\"" + bound + "\"}";
        assertThat(m.get(key)).as(key).isNotNull().isGreaterThanOrEqualTo(previous);
        previous = m.get(key);
      }
      assertThat(m.get("vstore_volume_io_seconds_sum{" + vol + "}")).isPositive();
      assertSample(m, "vstore_datastore_capacity_bytes{datastore=\"ds\"}", 64L << 30);
      assertSample(m, "vstore_datastore_provisioned_bytes{datastore=\"ds\"}", 1 << 20);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"warning\"}", 0);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"critical\"}", 0);
      assertThat(m.get("vstore_datastore_allocated_bytes{datastore=\"ds\"}")).as("allocated").isPositive();
      assertThat(m.get("vstore_datastore_used_bytes{datastore=\"ds\"}")).as("used").isPositive();
      assertSample(m, "vstore_metadata_cache_budget_bytes{datastore=\"ds\"}", 256L << 20);
      assertThat(m.get("vstore_metadata_cache_bytes{datastore=\"ds\"}")).as("metadata pages in memory").isPositive();
      assertThat(m.keySet()).contains("vstore_metadata_cache_evictions_total{datastore=\"ds\"}");
      assertThat(m.keySet()).contains("vstore_cleaner_runs_total{datastore=\"ds\"}",
          "vstore_cleaner_segments_cleaned_total{datastore=\"ds\"}", "vstore_cleaner_moved_bytes_total{datastore=\"ds\"}",
          "vstore_cleaner_reclaimed_bytes_total{datastore=\"ds\"}");
      assertThat(m.keySet()).anyMatch(k -> k.startsWith("jvm_memory_used_bytes{"));
      // No per-request labels: nothing about the scrape itself appears.
      assertThat(reply.body()).doesNotContain("/metrics");

      assertThat(d.tcp("GET", "/metrics", null, null).status()).isEqualTo(401);
    }
  }

  @Test
  void aScrapeStopsNoThreadsToLookForDeadlocksAndStillCountsThreads() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Path jfr = tmp.resolve("scrapes.jfr");
      try (Recording r = new Recording()) {
        r.enable("jdk.ExecuteVMOperation").withThreshold(Duration.ZERO);
        r.start();
        for (int i = 0; i < 3; i++) {
          Map<String, Double> m = scrape(d);
          assertThat(m.get("jvm_threads_current")).as("jvm_threads_current").isPositive();
          assertThat(m.get("jvm_threads_started_total")).as("jvm_threads_started_total").isPositive();
          assertThat(m.keySet()).noneMatch(k -> k.startsWith("jvm_threads_deadlocked") || k.startsWith("jvm_threads_state"));
        }
        // One search of our own: it shows the recording sees this kind of operation at all.
        ManagementFactory.getThreadMXBean().findDeadlockedThreads();
        r.stop();
        r.dump(jfr);
      }
      long searches = RecordingFile.readAllEvents(jfr).stream()
          .filter(e -> "FindDeadlocks".equals(e.getString("operation"))).count();
      assertThat(searches).as("FindDeadlocks safepoints during 3 scrapes and one direct search").isEqualTo(1);
    }
  }

  @Test
  void concurrentScrapesEachReadWhatWasWrittenBeforeTheyBegan() throws Exception {
    long seed = System.nanoTime();
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName("ds").store();
      try (Volume v = store.createVolume("vm1", 1 << 20)) {
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        List<java.util.concurrent.Future<?>> clients = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
          for (int c = 0; c < 8; c++) {
            java.util.Random random = new java.util.Random(seed + c);
            int client = c;
            clients.add(pool.submit(() -> {
              for (int step = 0; step < 25; step++) {
                int blocks = 1 + random.nextInt(4);
                v.write(4096L * random.nextInt(200), random(4096 * blocks));
                // Every write this client or another has finished by now must be in the reading.
                long before = written.addAndGet(4096L * blocks);
                double seen = scrape(d).get("vstore_volume_write_bytes_total{datastore=\"ds\",volume=\"vm1\"}");
                assertThat(seen).as("seed %d, client %d, step %d", seed, client, step).isGreaterThanOrEqualTo(before);
              }
              return null;
            }));
          }
          for (var f : clients) {
            f.get();
          }
        }
        assertSample(scrape(d), "vstore_volume_write_bytes_total{datastore=\"ds\",volume=\"vm1\"}", written.get());
      }
    }
  }

  @Test
  void aDeletedVolumesSeriesAreGone() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName("ds").store();
      for (String name : List.of("gone", "kept")) {
        try (Volume v = store.createVolume(name, 1 << 20)) {
          v.write(0, random(4096));
        }
      }
      assertThat(scrape(d).keySet().stream().filter(k -> k.contains("volume=")).toList())
          .anyMatch(k -> k.contains("volume=\"gone\"")).anyMatch(k -> k.contains("volume=\"kept\""));
      store.deleteVolume("gone");
      Map<String, Double> after = scrape(d);
      assertThat(after.keySet().stream().filter(k -> k.contains("volume=\"gone\"")).toList()).isEmpty();
      assertSample(after, "vstore_volume_write_bytes_total{datastore=\"ds\",volume=\"kept\"}", 4096);
    }
  }

  @Test
  void aTinyCapacityRaisesTheAlarmMetricAndEventsAndRestoringItClearsThem() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName("ds").store();
      try (Volume v = store.createVolume("vm1", 4 << 20)) {
        v.write(0, random(1 << 20));
      }
      long used = store.info().used();
      store.setCapacity(used * 2, 10, 40); // 50% used: critical
      Map<String, Double> m = scrape(d);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"critical\"}", 1);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"warning\"}", 0);
      assertSample(m, "vstore_datastore_capacity_bytes{datastore=\"ds\"}", used * 2);
      Event raised = awaitEvent(d, "alarm.raised", 0);
      assertThat(raised.datastore()).isEqualTo("ds");
      assertThat(raised.data()).containsEntry("level", "critical").containsEntry("current", "critical");
      assertThat((String) raised.data().get("message")).contains("critical threshold of 40%");

      store.setCapacity(used * 4, 20, 90); // 25% used: warning, lower than before
      Event lowered = awaitEvent(d, "alarm.cleared", raised.id());
      assertThat(lowered.data()).containsEntry("level", "critical").containsEntry("current", "warning");
      assertSample(scrape(d), "vstore_datastore_alarm{datastore=\"ds\",level=\"warning\"}", 1);

      store.setCapacity(0, 75, 90); // the file system's free space: normal
      Event cleared = awaitEvent(d, "alarm.cleared", lowered.id());
      assertThat(cleared.data()).containsEntry("level", "warning").containsEntry("current", "normal");
      m = scrape(d);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"warning\"}", 0);
      assertSample(m, "vstore_datastore_alarm{datastore=\"ds\",level=\"critical\"}", 0);
    }
  }

  /** Waits (the watcher looks every few seconds) for the first event of {@code type} after {@code afterId}. */
  static Event awaitEvent(TestDaemon d, String type, long afterId) throws InterruptedException {
    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < until) {
      Optional<Event> e = d.daemon().events().recent(afterId).stream().filter(x -> x.type().equals(type)).findFirst();
      if (e.isPresent()) {
        return e.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no " + type + " event after " + afterId + ": " + d.daemon().events().recent(0));
  }

  @Test
  void reportsRunningJobsProgressNbdConnectionsAndCleanerPasses() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      List<JobInfo> jobs = List.of(
          job("j1", JobState.RUNNING, 25, 100), job("j2", JobState.SUCCEEDED, 100, 100),
          job("j3", JobState.RUNNING, 0, 0), job("j4", JobState.QUEUED, 0, 10));
      d.daemon().metrics().trackJobs(new ListedJobs(jobs));
      d.daemon().metrics().trackNbdConnections(() -> 3);
      long runs = d.daemon().byName("ds").store().cleanerStats().runs();
      d.daemon().byName("ds").store().clean();
      Map<String, Double> m = scrape(d);
      assertSample(m, "vstore_job_progress_ratio{datastore=\"ds\",job=\"j1\",kind=\"import\"}", 0.25);
      assertSample(m, "vstore_nbd_connections", 3);
      assertThat(m.get("vstore_cleaner_runs_total{datastore=\"ds\"}")).as("cleaner runs").isGreaterThanOrEqualTo(runs + 1);
      assertThat(m.keySet()).filteredOn(k -> k.startsWith("vstore_job_progress_ratio")).hasSize(1);
    }
  }

  private static JobInfo job(String id, JobState state, long done, long total) {
    return new JobInfo(id, "import", "ds", "vm1", state, done, total, 0, -1, null, null, "2026-01-01T00:00:00Z",
        null, null);
  }

  /** Jobs that only list what they were given: the metrics need nothing else. */
  private record ListedJobs(List<JobInfo> jobs) implements Jobs {
    @Override
    public JobInfo submit(String datastore, String kind, String target, boolean heavy, Work work) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<JobInfo> find(String id) {
      return jobs.stream().filter(j -> j.id().equals(id)).findFirst();
    }

    @Override
    public List<JobInfo> list() {
      return jobs;
    }

    @Override
    public JobInfo cancel(String id) {
      throw new UnsupportedOperationException();
    }

    @Override
    public JobInfo await(String id, Duration timeout) {
      throw new UnsupportedOperationException();
    }
  }

  @Test
  void aScrapeStillQueuedWhenTheDaemonStopsFailsInsteadOfWaitingForever() throws Exception {
    java.util.concurrent.CountDownLatch inFormat = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CompletableFuture<Throwable> queued = new java.util.concurrent.CompletableFuture<>();
    Thread second;
    TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"));
    try {
      Metrics metrics = d.daemon().metrics();
      metrics.trackNbdConnections(() -> { // holds the metrics thread inside a scrape
        inFormat.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return 0;
      });
      Thread first = Thread.ofPlatform().daemon().start(() -> {
        try {
          metrics.scrape();
        } catch (java.io.IOException ignored) {
          // interrupted by the stop: either outcome is fine for the scrape under way
        }
      });
      inFormat.await();
      second = Thread.ofPlatform().daemon().start(() -> {
        try {
          metrics.scrape();
          queued.complete(null);
        } catch (Throwable t) {
          queued.complete(t);
        }
      });
      while (second.getState() != Thread.State.WAITING) { // queued behind the first, waiting for its own reading
        Thread.onSpinWait();
      }
      d.close(); // stops the metrics: the second scrape never starts
      d = null;
      release.countDown();
      first.join();
    } finally {
      release.countDown();
      if (d != null) {
        d.close();
      }
    }
    assertThat(second.join(Duration.ofSeconds(60))).as("the queued scrape returned").isTrue();
    assertThat(queued.get()).isInstanceOf(java.io.IOException.class).hasMessageContaining("shutting down");
  }
}
