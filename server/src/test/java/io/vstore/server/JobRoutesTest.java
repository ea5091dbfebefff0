package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.auth.Scope;
import io.vstore.server.jobs.JobManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobRoutesTest {
  @TempDir Path tmp;

  private static List<String> targets(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(j -> out.add(j.get("target").asText()));
    return out;
  }

  @Test
  void listsJobsNewestFirstWithFiltersAndALimit() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("a"), tmp.resolve("b"))) {
      JobManager jobs = d.daemon().jobs();
      jobs.await(jobs.submit("a", "check", "one", true, ctx -> null).id(), Duration.ofSeconds(30));
      jobs.await(jobs.submit("b", "check", "two", true, ctx -> {
        throw new IllegalStateException("volume two is busy");
      }).id(), Duration.ofSeconds(30));
      jobs.await(jobs.submit("a", "clean", "three", true, ctx -> null).id(), Duration.ofSeconds(30));

      TestDaemon.Reply all = d.unix("GET", "/api/v1/jobs", null);
      assertThat(all.status()).isEqualTo(200);
      assertThat(targets(all.json())).containsExactly("three", "two", "one");
      JsonNode failed = all.json().get(1);
      assertThat(failed.get("state").asText()).isEqualTo("failed");
      assertThat(failed.get("error").asText()).isEqualTo("volume two is busy");
      assertThat(failed.get("datastore").asText()).isEqualTo("b");
      assertThat(failed.get("etaSeconds").asLong()).isEqualTo(-1);

      assertThat(targets(d.unix("GET", "/api/v1/jobs?datastore=a", null).json())).containsExactly("three", "one");
      assertThat(targets(d.unix("GET", "/api/v1/jobs?kind=check", null).json())).containsExactly("two", "one");
      assertThat(targets(d.unix("GET", "/api/v1/jobs?state=succeeded&limit=1", null).json())).containsExactly("three");
      assertThat(d.unix("GET", "/api/v1/jobs?state=done", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/jobs?limit=0", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/jobs?limit=many", null).json().get("detail").asText())
          .isEqualTo("limit must be a whole number from 1 to 1000, not 'many'");
    }
  }

  @Test
  void showsWaitsForAndCancelsAJob() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JobManager jobs = d.daemon().jobs();
      CountDownLatch started = new CountDownLatch(1);
      String id = jobs.submit("ds", "convert", "vol", true, ctx -> {
        started.countDown();
        while (!ctx.isCancelled()) {
          ctx.update(5, 10);
          Thread.sleep(2);
        }
        ctx.checkCancelled();
        return null;
      }).id();
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();

      TestDaemon.Reply shown = d.unix("GET", "/api/v1/jobs/" + id, null);
      assertThat(shown.status()).isEqualTo(200);
      assertThat(shown.json().get("state").asText()).isEqualTo("running");
      assertThat(shown.json().get("kind").asText()).isEqualTo("convert");
      assertThat(d.unix("GET", "/api/v1/jobs/" + id + "/wait?timeout=0.01", null).json().get("state").asText())
          .isEqualTo("running");
      assertThat(d.unix("GET", "/api/v1/jobs/" + id + "/wait?timeout=-1", null).status()).isEqualTo(400);

      String reader = d.daemon().tokens().create("reader", Scope.READ).secret();
      assertThat(d.tcp("POST", "/api/v1/jobs/" + id + "/cancel", null, reader).status()).isEqualTo(403);
      assertThat(d.tcp("GET", "/api/v1/jobs/" + id, null, reader).status()).isEqualTo(200);

      assertThat(d.unix("POST", "/api/v1/jobs/" + id + "/cancel", null).status()).isEqualTo(200);
      JsonNode ended = d.unix("GET", "/api/v1/jobs/" + id + "/wait?timeout=60", null).json();
      assertThat(ended.get("state").asText()).isEqualTo("cancelled");
      assertThat(ended.get("done").asLong()).isEqualTo(5);
      assertThat(ended.get("total").asLong()).isEqualTo(10);
      assertThat(ended.get("finished").asText()).isNotEmpty();

      TestDaemon.Reply again = d.unix("POST", "/api/v1/jobs/" + id + "/cancel", null);
      assertThat(again.status()).isEqualTo(409);
      assertThat(again.json().get("detail").asText()).isEqualTo("job " + id + " has already ended (cancelled)");
      for (String path : List.of("/api/v1/jobs/0123456789abcdef", "/api/v1/jobs/0123456789abcdef/wait")) {
        TestDaemon.Reply missing = d.unix("GET", path, null);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("detail").asText()).isEqualTo("no job 0123456789abcdef");
      }
      assertThat(d.unix("POST", "/api/v1/jobs/0123456789abcdef/cancel", null).status()).isEqualTo(404);
    }
  }

  @Test
  void theOpenApiDocumentDescribesTheJobAndCommandRoutes() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JsonNode doc = d.unix("GET", "/api/v1/openapi.json", null).json();
      JsonNode paths = doc.get("paths");
      JsonNode schemas = doc.get("components").get("schemas");
      for (var route : d.daemon().router().routes()) {
        if (route.pattern().startsWith("/api/v1/jobs") || route.pattern().equals("/api/v1/commands")) {
          JsonNode op = paths.path(route.pattern()).path(route.method().toLowerCase(java.util.Locale.ROOT));
          assertThat(op.isObject()).as(route.method() + " " + route.pattern()).isTrue();
          assertThat(op.get("summary").asText()).isEqualTo(route.summary());
        }
      }
      for (String schema : List.of("Job", "JobState", "CommandRequest", "CommandLine", "CommandResult")) {
        assertThat(schemas.has(schema)).as(schema).isTrue();
      }
      // Every reference in the two fragments resolves in the merged document.
      for (String part : List.of("jobs", "commands")) {
        String text = new String(getClass().getClassLoader().getResourceAsStream("openapi/" + part + ".json")
            .readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        var refs = java.util.regex.Pattern.compile("\"\\$ref\": \"#/components/(\\w+)/(\\w+)\"").matcher(text);
        int found = 0;
        for (; refs.find(); found++) {
          assertThat(doc.path("components").path(refs.group(1)).has(refs.group(2))).as(refs.group()).isTrue();
        }
        assertThat(found).as("references in " + part).isPositive();
      }
    }
  }

  @Test
  void jobsOutliveTheDaemonAsRecords() throws Exception {
    Path ds = tmp.resolve("ds");
    String id;
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      id = d.daemon().jobs().submit("ds", "check", null, true, ctx -> {
        while (!ctx.isCancelled()) {
          Thread.sleep(2);
        }
        throw new java.util.concurrent.CancellationException();
      }).id();
    }
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      JsonNode j = d.unix("GET", "/api/v1/jobs/" + id, null).json();
      assertThat(j.get("state").asText()).isEqualTo("interrupted");
      assertThat(j.get("error").asText()).isEqualTo(JobManager.INTERRUPTED);
    }
  }
}
