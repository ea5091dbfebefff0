package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's backup routes: list and show points, a backup job, a restore job, and their refusals. */
final class BackupRoutesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path tmp;

  private CliRun ok(String... args) {
    String[] all = java.util.Arrays.copyOf(args, args.length + 2);
    all[args.length] = "-D";
    all[args.length + 1] = tmp.resolve("ds").toString();
    CliRun r = CliRun.of(all);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  private static String q(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static JobInfo finished(TestDaemon d, JsonNode job) throws InterruptedException {
    JobInfo done = d.daemon().jobs().await(job.get("id").asText(), Duration.ofSeconds(120));
    assertThat(done.state()).as("job %s: %s", done.id(), done.error()).isEqualTo(JobState.SUCCEEDED);
    return done;
  }

  @Test
  void listsShowsBacksUpAndRestoresThroughTheApi() throws Exception {
    ok("datastore", "init");
    ok("volume", "create", "v", "4M");
    byte[] data = new byte[300_000];
    new Random(11).nextBytes(data);
    ok("volume", "write", "v", "100000", Files.write(tmp.resolve("a.bin"), data).toString());
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    try (DirectoryStore store = DirectoryStore.open(repo);
        Repository r = Repository.init(store, null, RepositoryOptions.defaults())) {
      assertThat(r.config().chunkSize()).isPositive();
    }
    try (TestDaemon d = TestDaemon.start(new CliCommandRunner(), tmp.resolve("ds"))) {
      TestDaemon.Reply empty = d.unix("GET", "/api/v1/backups?repo=" + q(repo.toString()), null);
      assertThat(empty.status()).as(empty.body()).isEqualTo(200);
      assertThat(empty.json()).isEmpty();

      TestDaemon.Reply started = d.unix("POST", "/api/v1/backups",
          "{\"repo\":" + JSON.writeValueAsString(repo.toString()) + ",\"source\":\"v\",\"tags\":[\"api\"]}");
      assertThat(started.status()).as(started.body()).isEqualTo(202);
      assertThat(started.json().get("kind").asText()).isEqualTo("backup");
      finished(d, started.json());

      JsonNode points = d.unix("GET", "/api/v1/backups?repo=" + q(repo.toString()) + "&source=v", null).json();
      assertThat(points).hasSize(1);
      JsonNode point = points.get(0);
      assertThat(point.get("source").asText()).isEqualTo("v");
      assertThat(point.get("tags").get(0).asText()).isEqualTo("api");
      String id = point.get("id").asText();

      TestDaemon.Reply info = d.unix("GET", "/api/v1/backups/" + id.substring(0, 6) + "?repo=" + q(repo.toString()),
          null);
      assertThat(info.status()).as(info.body()).isEqualTo(200);
      assertThat(info.body()).contains(id);

      TestDaemon.Reply restore = d.unix("POST", "/api/v1/backups/" + id + "/restore",
          "{\"repo\":" + JSON.writeValueAsString(repo.toString()) + ",\"toVolume\":\"copy\"}");
      assertThat(restore.status()).as(restore.body()).isEqualTo(202);
      assertThat(restore.json().get("kind").asText()).isEqualTo("restore");
      finished(d, restore.json());
      assertThat(export("copy")).isEqualTo(export("v"));

      TestDaemon.Reply instant = d.unix("POST", "/api/v1/backups/" + id + "/restore",
          "{\"repo\":" + JSON.writeValueAsString(repo.toString()) + ",\"toVolume\":\"fast\",\"instant\":true}");
      assertThat(instant.status()).as(instant.body()).isEqualTo(201);
      assertThat(instant.json().get("export").get("uri").asText()).startsWith("nbd://").endsWith("/fast");
      assertThat(instant.json().get("job").get("kind").asText()).isEqualTo(InstantRestores.JOB_KIND);
      finished(d, instant.json().get("job"));
      assertThat(export("fast")).isEqualTo(export("v"));

      // Refusals: the command's own one-line message, as a problem.
      TestDaemon.Reply missing = d.unix("GET", "/api/v1/backups/abcdef?repo=" + q(repo.toString()), null);
      assertThat(missing.status()).isEqualTo(404);
      assertThat(missing.json().get("detail").asText()).contains("no point 'abcdef'");
      assertThat(d.unix("GET", "/api/v1/backups", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/backups/xyz?repo=" + q(repo.toString()), null).status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/backups", "{\"repo\":\"/r\",\"source\":\"v\",\"extra\":1}").status())
          .as("unknown fields").isEqualTo(400);
      TestDaemon.Reply noRepo = d.unix("GET", "/api/v1/backups?repo=" + q(tmp.resolve("none").toString()), null);
      assertThat(noRepo.status()).isIn(400, 404);
      TestDaemon.Reply existing = d.unix("POST", "/api/v1/backups/" + id + "/restore",
          "{\"repo\":" + JSON.writeValueAsString(repo.toString()) + ",\"toVolume\":\"v\"}");
      assertThat(existing.status()).isEqualTo(202);
      JobInfo refused = d.daemon().jobs().await(existing.json().get("id").asText(), Duration.ofSeconds(60));
      assertThat(refused.state()).isEqualTo(JobState.FAILED);
      assertThat(refused.error()).contains("volume v exists");
      // Over TCP the routes need an admin token: a read token is refused.
      assertThat(d.tcp("GET", "/api/v1/backups?repo=" + q(repo.toString()), null, null).status()).isEqualTo(401);
    }
  }

  private byte[] export(String volume) throws IOException {
    Path out = tmp.resolve("export-" + volume + "-" + System.nanoTime() + ".raw");
    ok("volume", "export", volume, out.toString());
    return Files.readAllBytes(out);
  }
}
