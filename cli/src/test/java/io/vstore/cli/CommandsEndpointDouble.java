package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.CommandRunner;
import io.vstore.server.Daemon;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.Exchange;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A stand-in for the daemon's {@code POST /api/v1/commands} (the jobs part's CommandRoutes) with the
 * protocol of the daemon brief, used only while that endpoint is not on this branch: checks the
 * plan's scope, runs the command through the daemon's runner and streams NDJSON (out, err, progress,
 * exit). Installed only when the daemon does not already serve the route.
 */
final class CommandsEndpointDouble {
  private CommandsEndpointDouble() {}

  /** Adds the endpoint to {@code daemon} unless it has one. */
  static void install(Daemon daemon) {
    boolean served = daemon.router().routes().stream()
        .anyMatch(r -> r.method().equals("POST") && r.pattern().equals(ClientDispatch.COMMANDS));
    if (served) {
      return;
    }
    daemon.router().add("POST", ClientDispatch.COMMANDS, Scope.READ, "Run a vstore command line (test double).", ex -> {
      JsonNode body = ex.bodyTree();
      List<String> argv = new ArrayList<>();
      body.path("argv").forEach(a -> argv.add(a.asText()));
      Path cwd = Path.of(body.path("cwd").asText("/"));
      CommandRunner.Plan plan = daemon.runner().plan(argv);
      ex.principal().require(plan.scope());
      OutputStream stream = ex.stream(200, "application/x-ndjson");
      Object lock = new Object();
      PrintWriter out = new PrintWriter(new Lines("out", stream, lock), true);
      PrintWriter err = new PrintWriter(new Lines("err", stream, lock), true);
      int exit = daemon.runner().run(new CommandRunner.Invocation(argv, cwd, out, err,
          (done, total) -> emit(stream, lock, Map.of("progress", Map.of("done", done, "total", total))), daemon));
      out.flush();
      err.flush();
      emit(stream, lock, Map.of("exit", exit));
      stream.close();
    });
  }

  private static void emit(OutputStream stream, Object lock, Map<String, ?> line) {
    synchronized (lock) {
      try {
        stream.write(Exchange.JSON.writeValueAsBytes(line));
        stream.write('\n');
        stream.flush();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** A writer that sends what was written as one NDJSON line at each flush. */
  private static final class Lines extends Writer {
    private final String key;
    private final OutputStream stream;
    private final Object lock;
    private final StringBuilder pending = new StringBuilder();

    Lines(String key, OutputStream stream, Object lock) {
      this.key = key;
      this.stream = stream;
      this.lock = lock;
    }

    @Override
    public synchronized void write(char[] buf, int off, int len) {
      pending.append(buf, off, len);
    }

    @Override
    public synchronized void flush() {
      if (!pending.isEmpty()) {
        emit(stream, lock, Map.of(key, pending.toString()));
        pending.setLength(0);
      }
    }

    @Override
    public void close() {
      flush();
    }
  }
}
