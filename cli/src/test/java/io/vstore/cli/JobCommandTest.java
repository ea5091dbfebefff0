package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.TestDaemon;
import io.vstore.server.jobs.JobFailure;
import io.vstore.server.jobs.JobManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vstore job list|show|wait|cancel against a daemon. */
final class JobCommandTest {
  @TempDir Path tmp;


  private CliRun vstore(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "-D";
    all[args.length + 1] = tmp.resolve("ds").toString();
    return CliRun.of(all);
  }

  @Test
  void listsShowsWaitsForAndCancelsJobs() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JobManager jobs = d.daemon().jobs();
      String ok = jobs.submit("ds", "check", "vol1", true, ctx -> {
        ctx.update(4096, 4096);
        return Map.of("exit", 0, "out", "datastore is clean\n", "err", "");
      }).id();
      jobs.await(ok, Duration.ofSeconds(30));
      String bad = jobs.submit("ds", "convert", "vol2", true, ctx -> {
        throw new JobFailure("bad vmdk: grain table 3 points past the end", null);
      }).id();
      jobs.await(bad, Duration.ofSeconds(30));

      CliRun list = vstore("job", "list");
      assertThat(list.exit()).isZero();
      assertThat(list.out().lines().toList()).hasSize(3);
      assertThat(list.out()).contains(ok).contains("check").contains("vol1").contains("succeeded")
          .contains("4.0 KiB of 4.0 KiB (100%)");
      JsonNode listed = vstore("job", "list", "--state", "failed", "--json").json();
      assertThat(listed).hasSize(1);
      assertThat(listed.get(0).get("id").asText()).isEqualTo(bad);
      CliRun badState = vstore("job", "list", "--state", "finished");
      assertThat(badState.exit()).isEqualTo(1);
      assertThat(badState.err()).startsWith("vstore: unknown job state 'finished'");

      CliRun show = vstore("job", "show", bad);
      assertThat(show.out()).contains("state:     failed").contains("error:     bad vmdk: grain table 3");
      assertThat(vstore("job", "show", ok, "--json").json().get("result").get("out").asText())
          .isEqualTo("datastore is clean\n");
      CliRun missing = vstore("job", "show", "0123456789abcdef");
      assertThat(missing.exit()).isEqualTo(1);
      assertThat(missing.err()).isEqualTo("vstore: no job 0123456789abcdef\n");

      CliRun waitOk = vstore("job", "wait", ok);
      assertThat(waitOk.exit()).isZero();
      assertThat(waitOk.out()).isEqualTo("datastore is clean\n");
      CliRun waitBad = vstore("job", "wait", bad);
      assertThat(waitBad.exit()).isEqualTo(1);
      assertThat(waitBad.err()).isEqualTo("vstore: job " + bad + " failed: bad vmdk: grain table 3 points past the end\n");

      CountDownLatch started = new CountDownLatch(1);
      String running = jobs.submit("ds", "flatten", "vol3", true, ctx -> {
        started.countDown();
        while (!ctx.isCancelled()) {
          Thread.sleep(2);
        }
        ctx.checkCancelled();
        return null;
      }).id();
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
      CliRun cancel = vstore("job", "cancel", running);
      assertThat(cancel.exit()).isZero();
      assertThat(cancel.out()).startsWith("asked job " + running + " to stop");
      CliRun waitCancelled = vstore("job", "wait", running, "--json");
      assertThat(waitCancelled.exit()).isEqualTo(1);
      assertThat(waitCancelled.json().get("state").asText()).isEqualTo("cancelled");
      CliRun again = vstore("job", "cancel", running);
      assertThat(again.exit()).isEqualTo(1);
      assertThat(again.err()).isEqualTo("vstore: job " + running + " has already ended (cancelled)\n");
    }
  }

  @Test
  void withoutADaemonSaysSo() {
    CliRun r = vstore("job", "list");
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).isEqualTo("vstore: no daemon owns datastore " + tmp.resolve("ds")
        + ": jobs exist only under 'vstore serve'\n");
  }
}
