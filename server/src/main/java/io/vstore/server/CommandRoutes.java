package io.vstore.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.jobs.JobContext;
import io.vstore.server.jobs.JobFailure;
import io.vstore.server.jobs.JobInfo;
import io.vstore.server.jobs.Jobs;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * {@code POST /api/v1/commands}: runs a forwarded {@code vstore} command line in the daemon. A
 * short command runs on the request's thread; long work (the runner's plan names a job kind) runs
 * as a job whose output is streamed to the waiting client and kept in the job's result. The reply
 * is NDJSON, one object a line: {@code {"job":...}} first for a job, then {@code {"progress":...}},
 * {@code {"out":...}} and {@code {"err":...}} as produced, and {@code {"exit":N}} last. A client
 * that goes away does not stop the job.
 */
final class CommandRoutes {
  /** The media type of the reply. */
  static final String NDJSON = "application/x-ndjson";
  /** How much of a job's output its result keeps. */
  static final int KEEP_OUTPUT = 1 << 20;
  /** How much output may wait for a slow client before it is cut off (the job goes on). */
  static final long MAX_PENDING = 16L << 20;
  /** The least time between two progress lines (five a second). */
  static final long PROGRESS_NANOS = 200_000_000L;
  /** How often a silent job's stream repeats its progress, so idle timeouts do not cut it. */
  static final long HEARTBEAT_NANOS = 10_000_000_000L;

  /** The request body; {@code wait} (true unless given) says whether to stream a job or only start it. */
  record Command(List<String> argv, String cwd, @JsonProperty("wait") Boolean waitForEnd) {}

  private final Daemon daemon;
  private final Jobs jobs;

  private CommandRoutes(Daemon daemon, Jobs jobs) {
    this.daemon = daemon;
    this.jobs = jobs;
  }

  /** Adds the command route to {@code daemon}'s router; jobs run in {@code jobs}. Returns the routes, for {@link BackupRoutes}. */
  static CommandRoutes register(Daemon daemon, Jobs jobs) {
    CommandRoutes routes = new CommandRoutes(daemon, jobs);
    daemon.router().add("POST", "/api/v1/commands", Scope.READ,
        "Run a vstore command line in the daemon (the scope needed depends on the command).", routes::handle);
    return routes;
  }

  /**
   * Starts {@code argv}, a command whose plan has a job kind, as a job with no client attached (as
   * {@code wait: false} does) and returns it; its output is kept in its result.
   */
  JobInfo startJob(CommandRunner runner, CommandRunner.Plan plan, List<String> argv, Path cwd) {
    Output output = new Output(false);
    return jobs.submit(datastoreOf(argv, cwd), plan.jobKind(), plan.target(), true, ctx -> output.run(ctx, runner,
        new CommandRunner.Invocation(List.copyOf(argv), cwd, output.out, output.err, output.sink(ctx), daemon)));
  }

  private void handle(Exchange ex) throws Exception {
    Command cmd = ex.body(Command.class);
    if (cmd.argv() == null || cmd.argv().isEmpty() || cmd.argv().contains(null)) {
      throw ApiException.badRequest("argv must be a non-empty array of strings");
    }
    Path cwd = cwd(cmd.cwd());
    CommandRunner runner = daemon.runner();
    if (runner == null) {
      throw new ApiException(503, "this daemon runs no commands");
    }
    CommandRunner.Plan plan = runner.plan(List.copyOf(cmd.argv()));
    // A plan without a scope is the runner's mistake: ask for the most rather than the least.
    ex.principal().require(plan.scope() == null ? Scope.ADMIN : plan.scope());
    boolean wait = cmd.waitForEnd() == null || cmd.waitForEnd();
    if (plan.jobKind() == null) {
      runInline(ex, runner, cmd.argv(), cwd);
    } else {
      runJob(ex, runner, plan, cmd.argv(), cwd, wait);
    }
  }

  private static Path cwd(String text) {
    if (text == null) {
      return Path.of("/");
    }
    try {
      Path p = Path.of(text);
      if (p.isAbsolute()) {
        return p;
      }
    } catch (InvalidPathException e) {
      // reported below
    }
    throw ApiException.badRequest("cwd must be an absolute directory, not '" + text + "'");
  }

  private void runInline(Exchange ex, CommandRunner runner, List<String> argv, Path cwd) throws IOException {
    try (OutputStream body = ex.stream(200, NDJSON)) {
      Lines lines = new Lines(body);
      long[] lastProgress = {System.nanoTime() - PROGRESS_NANOS};
      ProgressSink progress = (done, total) -> {
        synchronized (lastProgress) {
          long now = System.nanoTime();
          if (now - lastProgress[0] < PROGRESS_NANOS) {
            return;
          }
          lastProgress[0] = now;
        }
        lines.tryWrite(progressLine(done, total));
      };
      PrintWriter out = new PrintWriter(new ChunkWriter(t -> lines.tryWrite(Map.of("out", t))), true);
      PrintWriter err = new PrintWriter(new ChunkWriter(t -> lines.tryWrite(Map.of("err", t))), true);
      int exit;
      try {
        exit = runner.run(new CommandRunner.Invocation(List.copyOf(argv), cwd, out, err, progress, daemon));
      } catch (RuntimeException e) {
        err.println("vstore: " + io.vstore.server.http.Problems.message(e));
        exit = 1;
      }
      out.flush();
      err.flush();
      lines.tryWrite(Map.of("exit", exit));
    }
  }

  private void runJob(Exchange ex, CommandRunner runner, CommandRunner.Plan plan, List<String> argv, Path cwd,
      boolean wait) throws Exception {
    Output output = new Output(wait);
    String datastore = datastoreOf(argv, cwd);
    JobInfo job = jobs.submit(datastore, plan.jobKind(), plan.target(), true, ctx -> output.run(ctx, runner,
        new CommandRunner.Invocation(List.copyOf(argv), cwd, output.out, output.err, output.sink(ctx), daemon)));
    if (!wait) {
      ex.json(202, job);
      return;
    }
    try (OutputStream body = ex.stream(200, NDJSON)) {
      Lines lines = new Lines(body);
      lines.write(Map.of("job", job));
      long lastWrite = System.nanoTime();
      while (true) {
        Object line = output.pending.poll(500, TimeUnit.MILLISECONDS);
        if (line == Output.END || (line == null && jobs.find(job.id()).orElseThrow().state().isFinal())) {
          break;
        }
        if (line != null) {
          output.sent(line);
          lines.write(line);
          lastWrite = System.nanoTime();
        } else if (System.nanoTime() - lastWrite >= HEARTBEAT_NANOS) {
          JobInfo now = jobs.find(job.id()).orElseThrow();
          lines.write(progressLine(now.done(), now.total()));
          lastWrite = System.nanoTime();
        }
      }
      if (output.cutOff) {
        // No exit line: the client must not take this for the command's end.
        lines.write(Map.of("err", "vstore: this client fell more than " + MAX_PENDING + " characters behind the output of job "
            + job.id() + " and was cut off; the job goes on ('vstore job show " + job.id() + "')\n"));
        return;
      }
      for (Object line; (line = output.pending.poll()) != null; ) {
        if (line != Output.END) {
          lines.write(line);
        }
      }
      JobInfo done = jobs.await(job.id(), Duration.ofSeconds(30));
      while (!done.state().isFinal()) {
        done = jobs.await(job.id(), Duration.ofSeconds(30));
      }
      Integer exit = done.result() instanceof Map<?, ?> r && r.get("exit") instanceof Integer n ? n : null;
      if (exit == null) {
        lines.write(Map.of("err", "vstore: job " + done.id() + " " + done.state().label()
            + (done.error() != null ? ": " + done.error() : "") + "\n"));
        exit = 1;
      }
      lines.write(Map.of("exit", exit));
    } catch (IOException e) {
      output.detach(); // the client went away; the job goes on and keeps its output
    }
  }

  /** Returns a progress line, its fields in the documented order. */
  static Map<String, Object> progressLine(long done, long total) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("done", done);
    p.put("total", total);
    return Map.of("progress", p);
  }

  /** Returns the name of the datastore the command line works on: its {@code -D} if the daemon owns it, else the first. */
  private String datastoreOf(List<String> argv, Path cwd) {
    String dir = null;
    for (int i = 0; i < argv.size(); i++) {
      String a = argv.get(i);
      if ((a.equals("-D") || a.equals("--datastore")) && i + 1 < argv.size()) {
        dir = argv.get(i + 1);
      } else if (a.startsWith("--datastore=")) {
        dir = a.substring("--datastore=".length());
      } else if (a.startsWith("-D") && a.length() > 2) {
        dir = a.substring(2);
      }
    }
    if (dir != null) {
      try {
        var owned = daemon.find(cwd.resolve(dir));
        if (owned.isPresent()) {
          return owned.get().name();
        }
      } catch (InvalidPathException e) {
        // the runner reports the bad path
      }
    }
    return daemon.byName(null).name();
  }

  /** NDJSON lines written to a response, flushed one by one. */
  private static final class Lines {
    private final OutputStream body;
    private boolean broken;

    Lines(OutputStream body) {
      this.body = body;
    }

    /** Writes one line, or throws if the client went away. */
    synchronized void write(Object value) throws IOException {
      body.write(Exchange.JSON.writeValueAsBytes(value));
      body.write('\n');
      body.flush();
    }

    /** Writes one line unless the client went away (then drops it: the command runs on). */
    synchronized void tryWrite(Object value) {
      if (broken) {
        return;
      }
      try {
        write(value);
      } catch (IOException e) {
        broken = true;
      }
    }
  }

  /** A writer that hands on what it has whenever it is flushed (or holds 8 KiB). */
  private static final class ChunkWriter extends Writer {
    private final Consumer<String> sink;
    private final StringBuilder buffer = new StringBuilder();

    ChunkWriter(Consumer<String> sink) {
      this.sink = sink;
    }

    @Override
    public synchronized void write(char[] chars, int off, int len) {
      buffer.append(chars, off, len);
      if (buffer.length() >= 8192) {
        flush();
      }
    }

    @Override
    public synchronized void flush() {
      if (!buffer.isEmpty()) {
        String s = buffer.toString();
        buffer.setLength(0);
        sink.accept(s);
      }
    }

    @Override
    public void close() {
      flush();
    }
  }

  /**
   * A job's output: kept (up to {@link #KEEP_OUTPUT}) for its result, and queued for the client
   * while one waits. The job never blocks on the client: a client too slow to keep up is cut off.
   */
  private static final class Output {
    static final Object END = new Object();
    final BlockingQueue<Object> pending = new LinkedBlockingQueue<>();
    final PrintWriter out = new PrintWriter(new ChunkWriter(t -> text("out", t)), true);
    final PrintWriter err = new PrintWriter(new ChunkWriter(t -> text("err", t)), true);
    private final AtomicLong pendingChars = new AtomicLong();
    private final StringBuilder keptOut = new StringBuilder();
    private final StringBuilder keptErr = new StringBuilder();
    private volatile boolean attached;
    /** Whether the client fell too far behind and was cut off. */
    volatile boolean cutOff;
    private boolean truncated;
    private long lastProgress = System.nanoTime() - PROGRESS_NANOS;
    private String lastErrLine;

    Output(boolean attached) {
      this.attached = attached;
    }

    /** Runs the command as the job's work: returns its result, or fails with it kept. */
    Object run(JobContext ctx, CommandRunner runner, CommandRunner.Invocation invocation) throws Exception {
      try {
        int exit = runner.run(invocation);
        out.flush();
        err.flush();
        Map<String, Object> result = result(exit);
        if (ctx.isCancelled()) {
          throw new JobFailure("cancelled", result);
        }
        if (exit != 0) {
          throw new JobFailure(lastErrLine != null ? lastErrLine : "the command exited with " + exit, result);
        }
        return result;
      } finally {
        out.flush();
        err.flush();
        offer(END, 0);
      }
    }

    /** Returns the sink the command reports progress to: it stops the command once the job is cancelled. */
    ProgressSink sink(JobContext ctx) {
      return (done, total) -> {
        ctx.checkCancelled();
        ctx.update(done, total);
        synchronized (this) {
          long now = System.nanoTime();
          if (now - lastProgress < PROGRESS_NANOS && done < total) {
            return;
          }
          lastProgress = now;
        }
        offer(progressLine(done, total), 0);
      };
    }

    private synchronized void text(String stream, String text) {
      StringBuilder keep = stream.equals("out") ? keptOut : keptErr;
      long room = KEEP_OUTPUT - keptOut.length() - keptErr.length();
      if (text.length() <= room) {
        keep.append(text);
      } else if (!truncated) {
        keep.append(text, 0, (int) Math.max(0, room)).append("\n[output truncated at 1 MiB]\n");
        truncated = true;
      }
      if (stream.equals("err")) {
        String trimmed = text.strip();
        if (!trimmed.isEmpty()) {
          lastErrLine = trimmed.substring(trimmed.lastIndexOf('\n') + 1);
        }
      }
      offer(Map.of(stream, text), text.length());
    }

    private void offer(Object line, long chars) {
      if (!attached) {
        return;
      }
      if (pendingChars.addAndGet(chars) > MAX_PENDING) {
        cutOff = true;
        detach();
        return;
      }
      pending.add(line);
    }

    /** Notes that the client took {@code line}. */
    void sent(Object line) {
      if (line instanceof Map<?, ?> m) {
        for (Object v : m.values()) {
          if (v instanceof String s) {
            pendingChars.addAndGet(-s.length());
          }
        }
      }
    }

    /** Stops queueing output for a client that went away or fell too far behind. */
    void detach() {
      attached = false;
      pending.clear();
      pending.add(END);
    }

    private synchronized Map<String, Object> result(int exit) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("exit", exit);
      r.put("out", keptOut.toString());
      r.put("err", keptErr.toString());
      return r;
    }
  }
}
