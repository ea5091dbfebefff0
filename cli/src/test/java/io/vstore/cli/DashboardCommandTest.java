package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.Daemon;
import io.vstore.server.DaemonConfig;
import io.vstore.server.TestDaemon;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vstore dashboard} against a running daemon, and its errors without one. */
final class DashboardCommandTest {
  @TempDir Path tmp;


  private static CliRun vstore(String... args) {
    return CliRun.of(args);
  }

  @Test
  void printsAOneTimeLinkThatLogsInOnce() throws Exception {
    Path ds = tmp.resolve("ds");
    try (TestDaemon d = TestDaemon.start(null, ds);
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build()) {
      CliRun run = vstore("dashboard", "-D", ds.toString());
      assertThat(run.exit()).as(run.err()).isZero();
      String url = run.out().strip();
      assertThat(url).startsWith(d.baseUrl() + "/login?t=").doesNotContain("\n");
      assertThat(run.err()).contains("5 minutes").contains("once");

      HttpRequest open = HttpRequest.newBuilder(URI.create(url)).build();
      HttpResponse<String> first = http.send(open, HttpResponse.BodyHandlers.ofString());
      assertThat(first.statusCode()).isEqualTo(303);
      assertThat(first.headers().firstValue("Set-Cookie")).isPresent();
      assertThat(http.send(open, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(403);

      CliRun json = vstore("dashboard", "-D", ds.toString(), "--scope", "read", "--json");
      assertThat(json.exit()).as(json.err()).isZero();
      JsonNode login = new ObjectMapper().readTree(json.out());
      assertThat(login.get("url").asText()).startsWith(d.baseUrl() + "/login?t=").isNotEqualTo(url);
      assertThat(login.get("scope").asText()).isEqualTo("read");
      assertThat(login.get("expires").asText()).isNotEmpty();

      CliRun badScope = vstore("dashboard", "-D", ds.toString(), "--scope", "root");
      assertThat(badScope.exit()).isEqualTo(1);
      assertThat(badScope.err()).startsWith("vstore: ").contains("unknown scope 'root'");
    }
  }

  @Test
  void saysWhatToStartWhenNoDaemonOrNoListenerServesTheDashboard() throws Exception {
    Path ds = tmp.resolve("ds");
    Datastore.create(ds, DatastoreOptions.defaults(), 1L << 30).close();
    CliRun none = vstore("dashboard", "-D", ds.toString());
    assertThat(none.exit()).isEqualTo(1);
    assertThat(none.out()).isEmpty();
    assertThat(none.err()).isEqualTo("vstore: no daemon owns datastore " + ds
        + ": start 'vstore serve --listen 127.0.0.1:PORT' to use the dashboard\n");

    try (Daemon local = Daemon.start(DaemonConfig.local(List.of(ds)), null)) {
      CliRun noListener = vstore("dashboard", "-D", ds.toString());
      assertThat(noListener.exit()).isEqualTo(1);
      assertThat(noListener.err()).startsWith("vstore: ").contains("--listen").doesNotContain("\n\n");
    }
  }
}
