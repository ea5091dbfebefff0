package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Exchange;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.JobState;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandRoutesTest {
  @TempDir Path tmp;

  private static List<JsonNode> lines(TestDaemon.Reply reply) throws Exception {
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.contentType()).isEqualTo("application/x-ndjson");
    List<JsonNode> out = new ArrayList<>();
    for (String line : reply.body().split("\n")) {
      out.add(Exchange.JSON.readTree(line));
    }
    return out;
  }

  private static String text(List<JsonNode> lines, String stream) {
    StringBuilder sb = new StringBuilder();
    lines.stream().filter(l -> l.has(stream)).forEach(l -> sb.append(l.get(stream).asText()));
    return sb.toString();
  }

  private static String command(String cwd, Boolean wait, String... argv) throws Exception {
    var body = Exchange.JSON.createObjectNode();
    var array = body.putArray("argv");
    for (String a : argv) {
      array.add(a);
    }
    if (cwd != null) {
      body.put("cwd", cwd);
    }
    if (wait != null) {
      body.put("wait", wait);
    }
    return Exchange.JSON.writeValueAsString(body);
  }

  @Test
  void aShortCommandRunsAtOnceAndStreamsItsOutputAndExit() throws Exception {
    try (TestDaemon d = TestDaemon.start(new FakeRunner(), tmp.resolve("ds"))) {
      List<JsonNode> lines = lines(d.unix("POST", "/api/v1/commands", command("/srv", null, "echo", "hello", "world")));
      assertThat(lines.getFirst().has("job")).isFalse();
      assertThat(text(lines, "out")).isEqualTo("hello world\n");
      assertThat(text(lines, "err")).isEqualTo("note: echoed from /srv\n");
      assertThat(lines.getLast().toString()).isEqualTo("{\"exit\":0}");
      assertThat(d.daemon().jobs().list()).isEmpty();
    }
  }

  @Test
  void aJobStreamsItsJobProgressOutputAndExitAndKeepsItsResult() throws Exception {
    FakeRunner runner = new FakeRunner();
    try (TestDaemon d = TestDaemon.start(runner, tmp.resolve("a"), tmp.resolve("b"))) {
      List<JsonNode> lines = lines(d.unix("POST", "/api/v1/commands",
          command("/", true, "steps", "3", "-D", tmp.resolve("b").toString())));
      JsonNode job = lines.getFirst().get("job");
      assertThat(job.get("kind").asText()).isEqualTo("convert");
      assertThat(job.get("target").asText()).isEqualTo("vol");
      assertThat(job.get("datastore").asText()).isEqualTo("b"); // its -D, not the first datastore
      assertThat(lines).anySatisfy(l -> assertThat(l.path("progress").toString()).isEqualTo("{\"done\":3,\"total\":3}"));
      assertThat(text(lines, "out")).isEqualTo("step 1\nstep 2\nstep 3\n");
      assertThat(lines.getLast().toString()).isEqualTo("{\"exit\":0}");

      JobInfo info = d.daemon().jobs().find(job.get("id").asText()).orElseThrow();
      assertThat(info.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(info.done()).isEqualTo(3);
      assertThat(Exchange.JSON.valueToTree(info.result()).toString())
          .isEqualTo("{\"exit\":0,\"out\":\"step 1\\nstep 2\\nstep 3\\n\",\"err\":\"\"}");
    }
  }

  @Test
  void aJobThatExitsNonZeroFailsWithItsLastErrorLine() throws Exception {
    try (TestDaemon d = TestDaemon.start(new FakeRunner(), tmp.resolve("ds"))) {
      List<JsonNode> lines = lines(d.unix("POST", "/api/v1/commands", command("/", null, "broken")));
      assertThat(text(lines, "out")).isEqualTo("checking\n");
      assertThat(text(lines, "err")).isEqualTo("vstore: bad segment 7\n");
      assertThat(lines.getLast().toString()).isEqualTo("{\"exit\":3}");
      JobInfo info = d.daemon().jobs().find(lines.getFirst().get("job").get("id").asText()).orElseThrow();
      assertThat(info.state()).isEqualTo(JobState.FAILED);
      assertThat(info.error()).isEqualTo("vstore: bad segment 7");
    }
  }

  @Test
  void withoutWaitAJobIsStartedAndReturnedWith202AndCanBeCancelled() throws Exception {
    FakeRunner runner = new FakeRunner();
    try (TestDaemon d = TestDaemon.start(runner, tmp.resolve("ds"))) {
      TestDaemon.Reply reply = d.unix("POST", "/api/v1/commands", command("/", false, "hold"));
      assertThat(reply.status()).isEqualTo(202);
      assertThat(reply.contentType()).isEqualTo("application/json");
      String id = reply.json().get("id").asText();
      assertThat(reply.json().get("kind").asText()).isEqualTo("flatten");
      assertThat(runner.holding.await(30, TimeUnit.SECONDS)).isTrue();
      assertThat(d.unix("POST", "/api/v1/jobs/" + id + "/cancel", null).status()).isEqualTo(200);
      JobInfo info = d.daemon().jobs().await(id, Duration.ofSeconds(30));
      assertThat(info.state()).isEqualTo(JobState.CANCELLED);
      assertThat(Exchange.JSON.valueToTree(info.result()).get("err").asText()).contains("was cancelled");
    }
  }

  @Test
  void aJobGoesOnWhenItsClientGoesAway() throws Exception {
    FakeRunner runner = new FakeRunner();
    try (TestDaemon d = TestDaemon.start(runner, tmp.resolve("ds"))) {
      InputStreamResponseListener listener = new InputStreamResponseListener();
      Request request = d.client().newRequest("http://localhost/api/v1/commands")
          .transport(new Transport.TCPUnix(tmp.resolve("ds").resolve(Daemon.SOCKET))).method(HttpMethod.POST)
          .body(new StringRequestContent("application/json", command("/", true, "hold")));
      request.send(listener);
      assertThat(listener.get(30, TimeUnit.SECONDS).getStatus()).isEqualTo(200);
      BufferedReader in = new BufferedReader(new InputStreamReader(listener.getInputStream(), StandardCharsets.UTF_8));
      String id = Exchange.JSON.readTree(in.readLine()).get("job").get("id").asText();
      assertThat(runner.holding.await(30, TimeUnit.SECONDS)).isTrue();
      request.abort(new Exception("client went away"));

      runner.release.countDown();
      JobInfo info = d.daemon().jobs().await(id, Duration.ofSeconds(30));
      assertThat(info.state()).isEqualTo(JobState.SUCCEEDED);
      assertThat(Exchange.JSON.valueToTree(info.result()).get("out").asText()).isEqualTo("released\n");
    }
  }

  @Test
  void badRequestsAre400AndChangeNothing() throws Exception {
    try (TestDaemon d = TestDaemon.start(new FakeRunner(), tmp.resolve("ds"))) {
      TestDaemon.Reply unknown = d.unix("POST", "/api/v1/commands", command("/", null, "frobnicate"));
      assertThat(unknown.status()).isEqualTo(400);
      assertThat(unknown.contentType()).isEqualTo("application/problem+json");
      assertThat(unknown.json().get("detail").asText()).isEqualTo("Unmatched argument: 'frobnicate'");
      assertThat(d.unix("POST", "/api/v1/commands", "{\"argv\": []}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/commands", "{\"argv\": \"echo\"}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/commands", "{\"argv\": [\"echo\"], \"extra\": 1}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/commands", command("relative/dir", null, "echo")).status()).isEqualTo(400);
      assertThat(d.daemon().jobs().list()).isEmpty();
    }
  }

  @Test
  void aCommandNeedsTheScopeItsPlanNames() throws Exception {
    try (TestDaemon d = TestDaemon.start(new FakeRunner(), tmp.resolve("ds"))) {
      String read = d.daemon().tokens().create("reader", Scope.READ).secret();
      String write = d.daemon().tokens().create("writer", Scope.WRITE).secret();
      assertThat(lines(d.tcp("POST", "/api/v1/commands", command("/", null, "echo", "x"), read)).getLast().get("exit")
          .asInt()).isZero();
      TestDaemon.Reply denied = d.tcp("POST", "/api/v1/commands", command("/", null, "touch", "f"), read);
      assertThat(denied.status()).isEqualTo(403);
      assertThat(denied.json().get("detail").asText()).contains("scope read").contains("needs write");
      assertThat(d.tcp("POST", "/api/v1/commands", command("/", false, "host-copy"), write).status()).isEqualTo(403);
      assertThat(d.tcp("POST", "/api/v1/commands", command("/", null, "touch", "f"), write).status()).isEqualTo(200);
      assertThat(d.tcp("POST", "/api/v1/commands", command("/", null, "echo"), null).status()).isEqualTo(401);
      assertThat(d.daemon().jobs().list()).isEmpty();
    }
  }

  @Test
  void aDaemonWithoutARunnerSays503() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      TestDaemon.Reply r = d.unix("POST", "/api/v1/commands", command("/", null, "echo"));
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.json().get("detail").asText()).isEqualTo("this daemon runs no commands");
    }
  }
}
