package io.vstore.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.server.Event;
import io.vstore.server.EventBus;
import io.vstore.server.http.ApiException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobManagerTest {
  private static final Duration LONG = Duration.ofSeconds(30);
  @TempDir Path ds;
  private final EventBus events = new EventBus();
  private final List<JobManager> managers = new ArrayList<>();
  private final List<CountDownLatch> gates = new CopyOnWriteArrayList<>();

  @AfterEach
  void tearDown() {
    gates.forEach(CountDownLatch::countDown);
    managers.forEach(JobManager::close);
  }

  private JobManager manager(int maxHeavy, int keep) throws IOException {
    JobManager m = new JobManager(events, maxHeavy, keep);
    managers.add(m);
    return m;
  }

  private JobManager opened(int maxHeavy) throws IOException {
    JobManager m = manager(maxHeavy, JobManager.KEEP_FINISHED);
    m.open("ds", ds);
    return m;
  }

  /** Returns work that marks {@code started} and then waits for {@code gate}. */
  private Jobs.Work gated(CountDownLatch started, CountDownLatch gate, String result) {
    gates.add(gate);
    return ctx -> {
      started.countDown();
      gate.await();
      return result;
    };
  }

  private static JobInfo awaitState(JobManager m, String id, JobState state) throws InterruptedException {
    long deadline = System.nanoTime() + LONG.toNanos();
    JobInfo j = m.find(id).orElseThrow();
    while (j.state() != state && System.nanoTime() < deadline) {
      Thread.sleep(5);
      j = m.find(id).orElseThrow();
    }
    assertThat(j.state()).isEqualTo(state);
    return j;
  }

  @Test
  void heavyJobsWaitForTheLimitInOrderWhileLightOnesRunAtOnce() throws Exception {
    JobManager m = opened(2);
    CountDownLatch[] started = new CountDownLatch[4];
    CountDownLatch[] gate = new CountDownLatch[4];
    String[] ids = new String[4];
    for (int i = 0; i < 4; i++) {
      started[i] = new CountDownLatch(1);
      gate[i] = new CountDownLatch(1);
      ids[i] = m.submit("ds", "test", "t" + i, true, gated(started[i], gate[i], "r" + i)).id();
    }
    assertThat(started[0].await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(started[1].await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(m.find(ids[2]).orElseThrow().state()).isEqualTo(JobState.QUEUED);
    assertThat(m.find(ids[3]).orElseThrow().state()).isEqualTo(JobState.QUEUED);

    CountDownLatch lightStarted = new CountDownLatch(1);
    JobInfo light = m.submit("ds", "test", "light", false, gated(lightStarted, new CountDownLatch(0), "light"));
    assertThat(m.await(light.id(), LONG).state()).isEqualTo(JobState.SUCCEEDED);

    gate[1].countDown();
    assertThat(m.await(ids[1], LONG).result()).isEqualTo("r1");
    assertThat(started[2].await(30, TimeUnit.SECONDS)).isTrue(); // the first in the queue goes first
    assertThat(m.find(ids[3]).orElseThrow().state()).isEqualTo(JobState.QUEUED);
    gate[0].countDown();
    assertThat(started[3].await(30, TimeUnit.SECONDS)).isTrue();
    gate[2].countDown();
    gate[3].countDown();
    for (String id : ids) {
      assertThat(m.await(id, LONG).state()).isEqualTo(JobState.SUCCEEDED);
    }
    assertThat(m.list()).extracting(JobInfo::target).containsExactly("light", "t3", "t2", "t1", "t0");
  }

  @Test
  void aQueuedJobIsCancelledAtOnceAndNeverRuns() throws Exception {
    JobManager m = opened(1);
    CountDownLatch gate = new CountDownLatch(1);
    String blocker = m.submit("ds", "test", null, true, gated(new CountDownLatch(1), gate, null)).id();
    boolean[] ran = {false};
    String queued = m.submit("ds", "test", null, true, ctx -> ran[0] = true).id();
    JobInfo cancelled = m.cancel(queued);
    assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
    assertThat(cancelled.finished()).isNotNull();
    gate.countDown();
    assertThat(m.await(blocker, LONG).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(ran[0]).isFalse();
    assertThatThrownBy(() -> m.cancel(queued)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already ended");
    assertThatThrownBy(() -> m.cancel("0000000000000000")).isInstanceOf(ApiException.class)
        .hasMessageContaining("no job 0000000000000000");
  }

  @Test
  void aRunningJobSeesCancellationAndInterruptibleWorkIsInterrupted() throws Exception {
    JobManager m = opened(2);
    CountDownLatch running = new CountDownLatch(2);
    String polite = m.submit("ds", "test", null, true, ctx -> {
      running.countDown();
      while (true) {
        ctx.checkCancelled();
        Thread.sleep(1);
      }
    }).id();
    boolean[] interrupted = {false};
    String sleeper = m.submit("ds", "test", null, true, (Jobs.InterruptibleWork) ctx -> {
      running.countDown();
      try {
        Thread.sleep(Duration.ofHours(1));
      } catch (InterruptedException e) {
        interrupted[0] = true;
        throw e;
      }
      return null;
    }).id();
    assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(m.cancel(polite).state()).isEqualTo(JobState.RUNNING); // until the work checks
    m.cancel(sleeper);
    assertThat(m.await(polite, LONG).state()).isEqualTo(JobState.CANCELLED);
    JobInfo s = m.await(sleeper, LONG);
    assertThat(s.state()).isEqualTo(JobState.CANCELLED);
    assertThat(s.error()).isEqualTo("cancelled");
    assertThat(interrupted[0]).isTrue();
  }

  @Test
  void awaitReturnsTheJobAsItIsWhenTheTimeoutPasses() throws Exception {
    JobManager m = opened(1);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    String id = m.submit("ds", "test", "vol", true, gated(started, gate, "done")).id();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(m.await(id, Duration.ofMillis(1)).state()).isEqualTo(JobState.RUNNING);
    gate.countDown();
    JobInfo j = m.await(id, LONG);
    assertThat(j.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(j.result()).isEqualTo("done");
    assertThat(j.started()).isNotNull();
    assertThat(j.finished()).isNotNull();
    assertThat(j.kind()).isEqualTo("test");
    assertThat(j.target()).isEqualTo("vol");
    assertThat(j.datastore()).isEqualTo("ds");
  }

  @Test
  void failuresKeepTheirMessageAndAResultWhenGiven() throws Exception {
    JobManager m = opened(1);
    JobInfo plain = m.await(m.submit("ds", "test", null, true, ctx -> {
      throw new IOException("bad qcow2: header truncated");
    }).id(), LONG);
    assertThat(plain.state()).isEqualTo(JobState.FAILED);
    assertThat(plain.error()).isEqualTo("bad qcow2: header truncated");
    JobInfo kept = m.await(m.submit("ds", "test", null, true, ctx -> {
      throw new JobFailure("exit 3", Map.of("exit", 3));
    }).id(), LONG);
    assertThat(kept.state()).isEqualTo(JobState.FAILED);
    assertThat(kept.result()).isEqualTo(Map.of("exit", 3));
  }

  @Test
  void submitChecksItsArguments() throws Exception {
    JobManager m = opened(1);
    assertThatThrownBy(() -> m.submit("nope", "test", null, true, ctx -> null)).hasMessageContaining("no datastore nope");
    assertThatThrownBy(() -> m.submit("ds", "Bad Kind", null, true, ctx -> null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> m.submit("ds", "test", null, true, null)).isInstanceOf(IllegalArgumentException.class);
    m.close();
    assertThatThrownBy(() -> m.submit("ds", "test", null, true, ctx -> null)).hasMessageContaining("stopping");
  }

  @Test
  void publishesEveryStateChangeAndThrottledProgress() throws Exception {
    JobManager m = opened(1);
    try (EventBus.Subscription sub = events.subscribe()) {
      long start = System.nanoTime();
      String id = m.submit("ds", "test", "vol", true, ctx -> {
        for (int i = 1; i <= 10_000; i++) {
          ctx.update(i, 10_000);
        }
        return null;
      }).id();
      assertThat(m.await(id, LONG).state()).isEqualTo(JobState.SUCCEEDED);
      double seconds = (System.nanoTime() - start) / 1e9;
      List<String> states = new ArrayList<>();
      List<Event> progress = new ArrayList<>();
      for (Event e; (e = sub.poll(0)) != null; ) {
        assertThat(e.datastore()).isEqualTo("ds");
        assertThat(e.data().get("id")).isEqualTo(id);
        if (e.type().equals("job.state")) {
          states.add((String) e.data().get("state"));
        } else if (e.type().equals("job.progress")) {
          progress.add(e);
        }
      }
      assertThat(states).containsExactly("queued", "running", "succeeded");
      assertThat(progress).isNotEmpty();
      // At most one event each quarter second, plus the first and the one at completion.
      assertThat(progress.size()).isLessThanOrEqualTo((int) (seconds * 4) + 2);
      assertThat(progress.getLast().data()).containsEntry("done", 10_000L).containsEntry("total", 10_000L);
    }
    JobInfo j = m.find(m.list().getFirst().id()).orElseThrow();
    assertThat(j.done()).isEqualTo(10_000);
    assertThat(j.rate()).isZero(); // only a running job has a rate
    assertThat(j.etaSeconds()).isEqualTo(-1);
  }

  @Test
  void recordsSurviveAndJobsLeftRunningByACrashedManagerBecomeInterrupted() throws Exception {
    JobManager first = opened(1);
    String done = first.await(first.submit("ds", "test", "a", true, ctx -> Map.of("exit", 0)).id(), LONG).id();
    CountDownLatch started = new CountDownLatch(1);
    String running = first.submit("ds", "test", "b", true, gated(started, new CountDownLatch(1), null)).id();
    String queued = first.submit("ds", "test", "c", true, ctx -> null).id();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();

    // The first manager "crashes": it is never closed; a second one starts on the same records.
    JobManager second = manager(1, JobManager.KEEP_FINISHED);
    second.open("renamed", ds);
    JobInfo d = second.find(done).orElseThrow();
    assertThat(d.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(d.result()).isEqualTo(Map.of("exit", 0));
    assertThat(d.datastore()).isEqualTo("renamed");
    for (String id : List.of(running, queued)) {
      JobInfo j = second.find(id).orElseThrow();
      assertThat(j.state()).isEqualTo(JobState.INTERRUPTED);
      assertThat(j.error()).isEqualTo(JobManager.INTERRUPTED);
      assertThat(j.finished()).isNotNull();
    }
    // Interrupted is final: a third start leaves it so.
    JobManager third = manager(1, JobManager.KEEP_FINISHED);
    third.open("ds", Files.createDirectories(ds.resolve("elsewhere")));
    assertThat(JobStore.read(ds.resolve("jobs").resolve(running + ".json"), "ds").info().state())
        .isEqualTo(JobState.INTERRUPTED);
  }

  @Test
  void aKindWithAResumerContinuesAfterACrashUnderTheSameId() throws Exception {
    JobManager first = opened(1);
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    gates.add(gate);
    String id = first.submit("ds", "resumable", "vol", true, ctx -> {
      ctx.update(10, 100);
      started.countDown();
      gate.await();
      return null;
    }).id();
    String other = first.submit("ds", "plain", "x", true, ctx -> null).id();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();

    JobManager second = manager(1, JobManager.KEEP_FINISHED);
    List<JobInfo> resumed = new CopyOnWriteArrayList<>();
    second.registerResumer("resumable", info -> {
      resumed.add(info);
      return ctx -> "resumed " + info.target();
    });
    assertThatThrownBy(() -> second.registerResumer("resumable", info -> null)).isInstanceOf(IllegalStateException.class);
    second.open("ds", ds);
    JobInfo j = second.await(id, LONG);
    assertThat(j.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(j.result()).isEqualTo("resumed vol");
    assertThat(resumed).singleElement().satisfies(info -> {
      assertThat(info.id()).isEqualTo(id);
      assertThat(info.state()).isEqualTo(JobState.RUNNING);
    });
    assertThat(second.find(other).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);
  }

  @Test
  void aResumerThatFailsLeavesTheJobInterrupted() throws Exception {
    JobManager first = opened(1);
    CountDownLatch started = new CountDownLatch(1);
    String id = first.submit("ds", "resumable", null, true, gated(started, new CountDownLatch(1), null)).id();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
    JobManager second = manager(1, JobManager.KEEP_FINISHED);
    second.registerResumer("resumable", info -> {
      throw new IOException("source image gone");
    });
    second.open("ds", ds);
    JobInfo j = second.find(id).orElseThrow();
    assertThat(j.state()).isEqualTo(JobState.INTERRUPTED);
    assertThat(j.error()).contains(JobManager.INTERRUPTED).contains("source image gone");
  }

  @Test
  void closeInterruptsRunningAndQueuedJobsAndResumableOnesResumeAtTheNextStart() throws Exception {
    JobManager first = manager(1, JobManager.KEEP_FINISHED);
    first.registerResumer("resumable", info -> ctx -> "again");
    first.open("ds", ds);
    CountDownLatch started = new CountDownLatch(1);
    String running = first.submit("ds", "test", null, true, ctx -> {
      started.countDown();
      while (!ctx.isCancelled()) {
        Thread.sleep(1);
      }
      throw new CancellationException();
    }).id();
    String queued = first.submit("ds", "resumable", null, true, ctx -> null).id();
    assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
    first.close();
    assertThat(first.find(running).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);
    assertThat(first.find(queued).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);

    JobManager second = manager(1, JobManager.KEEP_FINISHED);
    second.registerResumer("resumable", info -> ctx -> "again");
    second.open("ds", ds);
    assertThat(second.find(running).orElseThrow().state()).isEqualTo(JobState.INTERRUPTED);
    assertThat(second.await(queued, LONG).result()).isEqualTo("again");
  }

  @Test
  void aJobLeftToResumeStaysInterruptedAsItWasWhenNothingResumesIt() throws Exception {
    JobManager first = manager(1, JobManager.KEEP_FINISHED);
    first.registerResumer("resumable", info -> ctx -> "again");
    first.open("ds", ds);
    first.submit("ds", "test", null, true, ctx -> {
      while (!ctx.isCancelled()) {
        Thread.sleep(1);
      }
      throw new CancellationException();
    });
    String queued = first.submit("ds", "resumable", null, true, ctx -> null).id();
    first.close();
    JobInfo stopped = first.find(queued).orElseThrow();

    JobManager second = opened(1); // no resumer for the kind this time
    JobInfo j = second.find(queued).orElseThrow();
    assertThat(j.state()).isEqualTo(JobState.INTERRUPTED);
    assertThat(j.finished()).isEqualTo(stopped.finished());
    assertThat(JobStore.read(ds.resolve(JobStore.DIR).resolve(queued + ".json"), "ds").resume()).isFalse();
  }

  @Test
  void aLargeResultIsReadBackFromTheRecordRatherThanKeptInMemory() throws Exception {
    JobManager m = opened(1);
    String big = "x".repeat(JobManager.MEMORY_RESULT + 1);
    String id = m.submit("ds", "test", null, true, ctx -> Map.of("out", big)).id();
    assertThat(m.await(id, LONG).result()).isEqualTo(Map.of("out", big));
    assertThat(m.list().getFirst().result()).isEqualTo(Map.of("out", big));
    String small = m.submit("ds", "test", null, true, ctx -> Map.of("out", "small")).id();
    m.await(small, LONG);

    JobManager again = manager(1, JobManager.KEEP_FINISHED);
    again.open("ds", ds);
    assertThat(again.find(id).orElseThrow().result()).isEqualTo(Map.of("out", big));

    // Only the record holds the large one: without it the job shows no result; the small one stays.
    Files.delete(ds.resolve(JobStore.DIR).resolve(id + ".json"));
    Files.delete(ds.resolve(JobStore.DIR).resolve(small + ".json"));
    assertThat(m.find(id).orElseThrow().result()).isNull();
    assertThat(m.find(id).orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(m.find(small).orElseThrow().result()).isEqualTo(Map.of("out", "small"));
  }

  @Test
  void ordersJobsByTheirCreationInstantNotItsText() throws Exception {
    JobStore store = JobStore.open(ds);
    // As text, ".1Z" sorts after ".100000001Z" ('Z' > '0'); as instants it is earlier.
    for (String[] j : new String[][] {{"0000000000000001", "2026-01-01T00:00:00.100000001Z"},
        {"0000000000000002", "2026-01-01T00:00:00.1Z"}}) {
      store.write(new JobStore.Stored(new JobInfo(j[0], "test", "ds", null, JobState.SUCCEEDED, 0, 0, 0, -1, null,
          null, j[1], j[1], j[1]), true, false));
    }
    assertThat(opened(1).list()).extracting(JobInfo::id).containsExactly("0000000000000001", "0000000000000002");
  }

  @Test
  void keepsOnlyTheNewestFinishedJobs() throws Exception {
    JobManager m = manager(1, 3);
    m.open("ds", ds);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String id = m.submit("ds", "test", "t" + i, true, ctx -> null).id();
      m.await(id, LONG);
      ids.add(id);
    }
    assertThat(m.list()).extracting(JobInfo::target).containsExactly("t5", "t4", "t3");
    try (var files = Files.list(ds.resolve(JobStore.DIR))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(ids.get(3) + ".json", ids.get(4) + ".json", ids.get(5) + ".json");
    }
    JobManager again = manager(1, 2);
    again.open("ds", ds);
    assertThat(again.list()).extracting(JobInfo::target).containsExactly("t5", "t4");
  }

  @Test
  void corruptRecordsAreSkippedAndTheRestLoad() throws Exception {
    JobManager first = opened(1);
    String good = first.await(first.submit("ds", "test", "ok", true, ctx -> null).id(), LONG).id();
    first.close();
    Path dir = ds.resolve(JobStore.DIR);
    String valid = Files.readString(dir.resolve(good + ".json"));
    Files.writeString(dir.resolve("0000000000000001.json"), "{not json");
    Files.writeString(dir.resolve("0000000000000002.json"), valid.replace(good, "0000000000000002")
        .replace("\"succeeded\"", "\"exploded\""));
    Files.writeString(dir.resolve("0000000000000003.json"), valid); // id does not match the file
    Files.writeString(dir.resolve("0000000000000004.json"), valid.replace(good, "0000000000000004")
        .replace("\"done\":0", "\"done\":-5"));
    Files.writeString(dir.resolve("0000000000000005.json"), "[]");
    Files.write(dir.resolve("0000000000000006.json"), new byte[(int) JobStore.MAX_RECORD + 1]);
    Files.writeString(dir.resolve(good + ".json.tmp"), "half a rec");

    JobManager second = opened(1);
    assertThat(second.list()).extracting(JobInfo::id).containsExactly(good);
    assertThat(dir.resolve(good + ".json.tmp")).doesNotExist();
    assertThatThrownBy(() -> JobStore.read(dir.resolve("0000000000000002.json"), "ds"))
        .hasMessageStartingWith("bad job record: ").hasMessageContaining("exploded");
    assertThatThrownBy(() -> JobStore.read(dir.resolve("0000000000000004.json"), "ds"))
        .hasMessageContaining("field done");
    assertThatThrownBy(() -> JobStore.read(dir.resolve("0000000000000006.json"), "ds"))
        .hasMessageContaining("over the limit");
  }

  @Test
  void theRateFollowsAMovingWindow() {
    RateWindow w = new RateWindow();
    assertThat(w.rate()).isZero();
    assertThat(w.etaSeconds(0, 100)).isEqualTo(-1);
    long s = 1_000_000_000L;
    w.add(0, 0);
    w.add(s, 100);
    w.add(2 * s, 200);
    assertThat(w.rate()).isEqualTo(100.0);
    assertThat(w.etaSeconds(200, 1200)).isEqualTo(10);
    // Twenty seconds at 10/s: the window forgets the fast start.
    for (int i = 1; i <= 20; i++) {
      w.add((2 + i) * s, 200 + 10L * i);
    }
    assertThat(w.rate()).isBetween(9.0, 11.0);
    assertThat(w.etaSeconds(400, 0)).isEqualTo(-1);
  }
}
