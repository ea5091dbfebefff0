package io.vstore.server;

import io.vstore.server.auth.Scope;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A command runner for tests: {@code echo ARGS} prints (read, inline), {@code touch X} needs write,
 * {@code host-copy} needs admin, {@code steps N} is a job reporting N steps, {@code hold} a job that
 * waits for {@link #release} (or its cancellation, seen through its progress sink), {@code broken}
 * a job that exits 3; anything else does not parse.
 */
final class FakeRunner implements CommandRunner {
  final CountDownLatch release = new CountDownLatch(1);
  final CountDownLatch holding = new CountDownLatch(1);
  volatile String lastDatastore;

  @Override
  public Plan plan(List<String> argv) {
    return switch (argv.getFirst()) {
      case "echo" -> new Plan(Scope.READ, null, null);
      case "touch" -> new Plan(Scope.WRITE, null, argv.get(1));
      case "host-copy" -> new Plan(Scope.ADMIN, "convert", "vol");
      case "steps" -> new Plan(Scope.WRITE, "convert", "vol");
      case "hold" -> new Plan(Scope.WRITE, "flatten", "vol");
      case "broken" -> new Plan(Scope.WRITE, "check", null);
      default -> throw new IllegalArgumentException("Unmatched argument: '" + argv.getFirst() + "'");
    };
  }

  @Override
  public int run(Invocation inv) {
    List<String> argv = inv.argv();
    lastDatastore = inv.host().byName(null).name();
    switch (argv.getFirst()) {
      case "echo" -> {
        inv.out().println(String.join(" ", argv.subList(1, argv.size())));
        inv.err().println("note: echoed from " + inv.cwd());
        return 0;
      }
      case "touch", "host-copy" -> {
        inv.out().println("done");
        return 0;
      }
      case "steps" -> {
        int n = Integer.parseInt(argv.get(1));
        for (int i = 1; i <= n; i++) {
          inv.progress().update(i, n);
          inv.out().println("step " + i);
        }
        return 0;
      }
      case "hold" -> {
        holding.countDown();
        try {
          while (!release.await(5, TimeUnit.MILLISECONDS)) {
            inv.progress().update(1, 10); // throws once the job is cancelled
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return 130;
        } catch (RuntimeException e) {
          inv.err().println("vstore: " + e.getMessage());
          return 1;
        }
        inv.out().println("released");
        return 0;
      }
      case "broken" -> {
        inv.out().println("checking");
        inv.err().println("vstore: bad segment 7");
        return 3;
      }
      default -> throw new IllegalStateException("plan() should have refused " + argv);
    }
  }
}
