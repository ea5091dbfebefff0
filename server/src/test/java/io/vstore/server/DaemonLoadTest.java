package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.CheckReport;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.http.Exchange;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many concurrent API clients over TCP with a token (mixed reads and snapshot, clone and delete
 * writes) while fio writes, with verification, through an NBD export of the volume they snapshot:
 * every request gets exactly the status it should, fio reports no error and verifies what it
 * wrote, and the datastore check is clean afterwards. Prints API p50/p99 and NBD IOPS with and
 * without the load (never asserted). {@code -Dvstore.loadClients=N} and {@code -Dvstore.loadSeconds=S}
 * set the load (default 200 clients for 60 s; 40 for 15 s under CI=true).
 */
@Tag("slow")
final class DaemonLoadTest {
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final long VOLUME = 256L << 20;
  /** The area fio writes and verifies in each run. */
  private static final String FIO_SIZE = "32M";

  @TempDir Path tmp;

  private static int property(String name, int normal, int underCi) {
    String set = System.getProperty(name, "").strip();
    if (set.isEmpty()) {
      return CI ? underCi : normal;
    }
    int n;
    try {
      n = Integer.parseInt(set);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("-D" + name + "=" + set + " is not a number", e);
    }
    if (n <= 0) {
      throw new IllegalArgumentException("-D" + name + "=" + set + " must be positive");
    }
    return n;
  }

  /** One request that did not get the status it should have. */
  private record Failure(String request, int expected, int actual, String body) {}

  /** What the clients saw: latencies in nanoseconds of reads and writes, and failures. */
  private static final class Tally {
    final ConcurrentLinkedQueue<long[]> reads = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<long[]> writes = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    /** Latencies by request kind (method and route), to see which one is slow. */
    final ConcurrentHashMap<String, ConcurrentLinkedQueue<long[]>> byRoute = new ConcurrentHashMap<>();
  }

  /** One API client: a loop of random reads and, a quarter of the time, the next step of its write cycle. */
  private static final class Client implements Runnable {
    private final int id;
    private final HttpClient http;
    private final String base;
    private final String token;
    private final long deadline;
    private final Tally tally;
    private final Random random;
    private final List<Long> readNanos = new ArrayList<>();
    private final List<Long> writeNanos = new ArrayList<>();
    private final Map<String, List<Long>> byRoute = new HashMap<>();
    private int step;
    private int cycle;

    Client(int id, HttpClient http, String base, String token, long deadline, Tally tally, long seed) {
      this.id = id;
      this.http = http;
      this.base = base;
      this.token = token;
      this.deadline = deadline;
      this.tally = tally;
      this.random = new Random(seed);
    }

    private String snapshot() {
      return "l" + id + "-" + cycle;
    }

    private String cloneName() {
      return "l" + id + "-" + cycle + "-c";
    }

    @Override
    public void run() {
      try {
        while (System.nanoTime() < deadline) {
          if (random.nextInt(4) == 0) {
            write();
          } else {
            read();
          }
          Thread.sleep(random.nextInt(10)); // a client, not a flood: think between requests
        }
        while (step != 0) { // leave nothing behind: finish the cycle
          write();
        }
      } catch (Exception e) {
        tally.failures.add(new Failure("client " + id, 0, -1, e.toString()));
      } finally {
        tally.reads.add(readNanos.stream().mapToLong(Long::longValue).toArray());
        tally.writes.add(writeNanos.stream().mapToLong(Long::longValue).toArray());
        byRoute.forEach((route, nanos) -> tally.byRoute.computeIfAbsent(route, k -> new ConcurrentLinkedQueue<>())
            .add(nanos.stream().mapToLong(Long::longValue).toArray()));
      }
    }

    private void read() throws Exception {
      switch (random.nextInt(6)) {
        case 0 -> expect(readNanos, "GET", "/api/v1/volumes", null, 200);
        case 1 -> expect(readNanos, "GET", "/api/v1/volumes/vm1", null, 200);
        case 2 -> expect(readNanos, "GET", "/api/v1/volumes/vm1/snapshots", null, 200);
        case 3 -> expect(readNanos, "GET", "/api/v1/jobs", null, 200);
        case 4 -> expect(readNanos, "GET", "/metrics", null, 200);
        default -> expect(readNanos, "GET", "/api/v1/snapshots", null, 200);
      }
    }

    /** Snapshot vm1, clone the snapshot, show and delete the clone, then delete the snapshot. */
    private void write() throws Exception {
      switch (step) {
        case 0 -> expect(writeNanos, "POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"" + snapshot() + "\"}", 201);
        case 1 -> expect(writeNanos, "POST", "/api/v1/volumes/vm1/snapshots/" + snapshot() + "/clones",
            "{\"name\": \"" + cloneName() + "\"}", 201);
        case 2 -> expect(readNanos, "GET", "/api/v1/volumes/" + cloneName(), null, 200);
        case 3 -> expect(writeNanos, "DELETE", "/api/v1/volumes/" + cloneName(), null, 204);
        default -> {
          expect(writeNanos, "DELETE", "/api/v1/volumes/vm1/snapshots/" + snapshot(), null, 204);
          cycle++;
        }
      }
      step = (step + 1) % 5;
    }

    private void expect(List<Long> nanos, String method, String path, String json, int status) throws Exception {
      Request r = http.newRequest(base + path).method(HttpMethod.fromString(method)).timeout(120, TimeUnit.SECONDS)
          .headers(h -> h.put("Authorization", "Bearer " + token));
      if (json != null) {
        r.body(new StringRequestContent("application/json", json));
      }
      long start = System.nanoTime();
      ContentResponse response = r.send();
      long took = System.nanoTime() - start;
      nanos.add(took);
      String route = method + " " + path.replace("/" + cloneName(), "/{clone}").replace("/" + snapshot(), "/{snap}");
      byRoute.computeIfAbsent(route, k -> new ArrayList<>()).add(took);
      if (response.getStatus() != status) {
        tally.failures.add(new Failure(method + " " + path, status, response.getStatus(), response.getContentAsString()));
      }
    }
  }

  /** Runs fio's nbd engine: 4 KiB random writes over {@link #FIO_SIZE}, then reads them back and verifies them. */
  private static double fio(Path dir, int port, String name) throws Exception {
    Path json = dir.resolve(name + ".json");
    Path log = dir.resolve(name + ".log");
    Process p = new ProcessBuilder("fio", "--name=" + name, "--ioengine=nbd", "--uri=nbd://127.0.0.1:" + port + "/disk",
        "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=" + FIO_SIZE, "--verify=crc32c", "--verify_fatal=1",
        "--do_verify=1", "--randseed=" + name.hashCode(), "--output-format=json", "--output=" + json)
        .directory(dir.toFile()) // fio leaves its verify state files in its working directory
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(p.waitFor(600, TimeUnit.SECONDS)).as("fio %s finished", name).isTrue();
    String out = Files.readString(log) + (Files.exists(json) ? Files.readString(json) : "");
    assertThat(p.exitValue()).as("fio %s: %s", name, out).isZero();
    JsonNode job = Exchange.JSON.readTree(json.toFile()).get("jobs").get(0);
    assertThat(job.get("error").asInt()).as("fio %s error: %s", name, out).isZero();
    assertThat(job.get("write").get("io_bytes").asLong()).as("fio %s wrote", name).isEqualTo(32L << 20);
    assertThat(job.get("read").get("io_bytes").asLong()).as("fio %s read back and verified", name).isEqualTo(32L << 20);
    return job.get("write").get("iops").asDouble();
  }

  private static String percentiles(ConcurrentLinkedQueue<long[]> parts) {
    long[] all = parts.stream().flatMapToLong(Arrays::stream).sorted().toArray();
    if (all.length == 0) {
      return "no requests";
    }
    return String.format("%d requests, p50 %.1f ms, p99 %.1f ms", all.length, all[all.length / 2] / 1e6,
        all[Math.min(all.length - 1, (int) (all.length * 0.99))] / 1e6);
  }

  @Test
  void manyClientsWhileFioWritesThroughAnExport() throws Exception {
    int clients = property("vstore.loadClients", 200, 40);
    int seconds = property("vstore.loadSeconds", 60, 15);
    Path ds = tmp.resolve("ds");
    Tally tally = new Tally();
    List<Double> loaded = new ArrayList<>();
    double idle;
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      assertThat(d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": " + VOLUME + "}").status()).isEqualTo(201);
      assertThat(d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm1\", \"name\": \"disk\"}").status()).isEqualTo(201);
      int port = d.daemon().exports().nbdAddress().getPort();
      idle = fio(tmp, port, "idle");

      HttpClient http = new HttpClient();
      http.setMaxConnectionsPerDestination(clients + 8); // each client its own connection: no queue in the client
      http.start();
      try {
        long seed = System.nanoTime();
        System.out.println("load: " + clients + " clients for " + seconds + " s, seed " + seed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          threads.add(Thread.ofVirtual().name("client-" + i)
              .start(new Client(i, http, d.baseUrl(), d.adminToken(), deadline, tally, seed + i)));
        }
        int run = 0;
        while (System.nanoTime() < deadline) {
          loaded.add(fio(tmp, port, "loaded-" + run++));
        }
        for (Thread t : threads) {
          t.join();
        }
      } finally {
        http.stop();
      }
      assertThat(List.copyOf(tally.failures)).as("requests that failed").isEmpty();
      JsonNode volumes = d.unix("GET", "/api/v1/volumes", null).json();
      assertThat(volumes.size()).as("every client deleted its clones: %s", volumes).isEqualTo(1);
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/snapshots", null).json().size())
          .as("every client deleted its snapshots").isZero();
      assertThat(d.unix("DELETE", "/api/v1/exports/disk", null).status()).isEqualTo(204);
    }
    try (Datastore store = Datastore.open(ds, DatastoreOptions.defaults())) {
      CheckReport report = store.check();
      assertThat(report.problems()).as("datastore check after the load").isEmpty();
      assertThat(report.clean()).isTrue();
    }
    System.out.println("API reads:  " + percentiles(tally.reads));
    System.out.println("API writes: " + percentiles(tally.writes));
    tally.byRoute.entrySet().stream().sorted(Map.Entry.comparingByKey())
        .forEach(e -> System.out.println("  " + e.getKey() + ": " + percentiles(e.getValue())));
    System.out.printf("NBD 4 KiB random write IOPS (fio, iodepth 16, with verify): %.0f without load, %.0f with"
        + " the load (mean of %d runs)%n", idle, loaded.stream().mapToDouble(Double::doubleValue).average().orElse(0),
        loaded.size());
  }
}
