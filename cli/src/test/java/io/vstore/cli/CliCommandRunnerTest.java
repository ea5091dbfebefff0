package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.server.CommandRunner.Invocation;
import io.vstore.server.CommandRunner.Plan;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What each command line needs in the daemon: scope, job kind and target, from the one table. */
final class CliCommandRunnerTest {
  private final CliCommandRunner runner = new CliCommandRunner();
  @TempDir Path tmp;

  /** What a command run in the daemon gave: exit code, output, errors and the progress reported. */
  private record Ran(int exit, String out, String err, List<long[]> progress) {}

  private Ran run(TestDaemon d, Path cwd, String... argv) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<long[]> progress = new CopyOnWriteArrayList<>();
    int exit = runner.run(new Invocation(List.of(argv), cwd, new PrintWriter(out, true), new PrintWriter(err, true),
        (done, total) -> progress.add(new long[] {done, total}), d.daemon()));
    return new Ran(exit, out.toString(), err.toString(), progress);
  }

  @Test
  void runsOnTheDaemonsDatastoresWithTheClientsDirectoryAndReportsProgress() throws Exception {
    Path ds = tmp.resolve("ds");
    Path client = Files.createDirectories(tmp.resolve("client"));
    byte[] data = new byte[8 << 20];
    new Random(3).nextBytes(data);
    Files.write(client.resolve("disk.raw"), data);
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      // A relative FILE is the client's; no -D is the daemon's first datastore.
      Ran imported = run(d, client, "volume", "import", "disk.raw", "vm1");
      assertThat(imported.exit()).as(imported.err()).isZero();
      assertThat(imported.out()).startsWith("imported " + client.resolve("disk.raw") + " (raw) into volume vm1");
      assertThat(imported.progress()).isNotEmpty();
      long[] last = imported.progress().getLast();
      assertThat(last[0]).isEqualTo(last[1]).isEqualTo(data.length);

      Ran exported = run(d, client, "volume", "export", "-D", ds.toString(), "vm1", "copy.raw");
      assertThat(exported.exit()).as(exported.err()).isZero();
      assertThat(Files.readAllBytes(client.resolve("copy.raw"))).isEqualTo(data);

      // The datastore stays open in the daemon after each command's try-with-resources.
      assertThat(d.daemon().find(ds).orElseThrow().store().volumeInfo("vm1").size()).isEqualTo(data.length);

      Ran elsewhere = run(d, client, "volume", "list", "-D", tmp.resolve("other").toString());
      assertThat(elsewhere.exit()).isEqualTo(1);
      assertThat(elsewhere.err()).isEqualTo("vstore: datastore " + tmp.resolve("other") + " is not owned by this daemon\n");
      Ran relative = run(d, tmp, "volume", "list", "-D", "ds");
      assertThat(relative.exit()).as(relative.err()).isZero();
      assertThat(relative.out()).contains("vm1");
    }
  }

  private Plan plan(String line) {
    return runner.plan(List.of(line.split(" ")));
  }

  @Test
  void aCommandLeavesNothingBehindForTheNextOne() throws Exception {
    Path cfg = Files.writeString(tmp.resolve("vm.json"), "{\"cpus\": 2}");
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      assertThat(run(d, tmp, "vm", "create", "a", "--disk", "1M", "--disk", "2M", "--config", cfg.toString()).exit())
          .isZero();
      assertThat(run(d, tmp, "vm", "create", "b", "--disk", "3M").exit()).isZero();
      assertThat(run(d, tmp, "volume", "list", "--json").out()).startsWith("[");
      String table = run(d, tmp, "volume", "list").out();
      assertThat(table).startsWith("NAME").contains("b-disk0").doesNotContain("b-disk1");
      String b = run(d, tmp, "vm", "info", "b", "--json").out();
      assertThat(b).doesNotContain("cpus").contains("b-disk0").doesNotContain("b-disk1");
      assertThat(run(d, tmp, "volume", "info", "nothere").exit()).isEqualTo(1);
      assertThat(run(d, tmp, "volume", "info", "a-disk0").out()).contains("a-disk0");
    }
  }

  @Test
  void commandsThatOnlyLookNeedRead() {
    for (String line : List.of("volume list", "volume info vm1 --json", "datastore info", "snapshot list vm1",
        "cbt changes vm1 --since *", "cbt pins", "cbt pins vm1", "vm list", "vm info web", "vm snapshot list web",
        "pool list", "pool info p", "vm media list web")) {
      assertThat(plan(line).scope()).as(line).isEqualTo(Scope.READ);
      assertThat(plan(line).jobKind()).as(line).isNull();
    }
  }

  @Test
  void commandsThatChangeTheDatastoreNeedWrite() {
    for (String line : List.of("volume create vm1 1G", "volume delete vm1", "snapshot create vm1@s",
        "snapshot revert vm1@s", "snapshot delete vm1@s", "clone create vm1@s c --count 100", "vm create web --disk 1G",
        "vm snapshot create web@s", "vm delete web", "pool delete p", "datastore init", "cbt pin u/1 --name n",
        "cbt unpin n", "vm media remove web a.iso")) {
      assertThat(plan(line).scope()).as(line).isEqualTo(Scope.WRITE);
    }
    assertThat(plan("snapshot create vm1@s")).isEqualTo(new Plan(Scope.WRITE, null, "vm1@s"));
    assertThat(plan("clone create vm1@s c --count 100").target()).isEqualTo("vm1@s");
  }

  @Test
  void commandsOnTheHostsFilesNeedAdmin() {
    for (String line : List.of("volume import disk.qcow2 vm1", "volume export vm1 out.raw", "volume write vm1 0 data",
        "volume read vm1 0 512 out.bin", "vm create web --disk 1G --config vm.json", "vm media add web a.iso")) {
      assertThat(plan(line).scope()).as(line).isEqualTo(Scope.ADMIN);
    }
    assertThat(plan("volume import disk.qcow2 vm1").target()).isEqualTo("vm1");
    // -D names the datastore, not a file the command reads.
    assertThat(plan("volume list -D /srv/ds").scope()).isEqualTo(Scope.READ);
    assertThat(plan("-D /srv/ds snapshot create a@b").scope()).isEqualTo(Scope.WRITE);
  }

  @Test
  void longWorkRunsAsJobs() {
    assertThat(plan("volume import disk.qcow2 vm1")).isEqualTo(new Plan(Scope.ADMIN, "import", "vm1"));
    assertThat(plan("volume export vm1 out.qcow2 -O qcow2").jobKind()).isEqualTo("export");
    assertThat(plan("volume flatten c-1")).isEqualTo(new Plan(Scope.WRITE, "flatten", "c-1"));
    assertThat(plan("volume write vm1 0 data")).isEqualTo(new Plan(Scope.ADMIN, "write", "vm1"));
    assertThat(plan("volume read vm1 0 512 out.bin").jobKind()).isEqualTo("read");
    assertThat(plan("datastore clean").jobKind()).isEqualTo("clean");
    assertThat(plan("datastore check --json")).isEqualTo(new Plan(Scope.READ, "check", null));
    assertThat(plan("pool create p --from web@s --count 3").jobKind()).isEqualTo("pool-create");
    assertThat(plan("pool recompose p --from web@t").jobKind()).isEqualTo("pool-recompose");
    assertThat(plan("pool refresh p").jobKind()).isEqualTo("pool-refresh");
    assertThat(plan("ovf import app.ova --name web --accept-eula")).isEqualTo(new Plan(Scope.ADMIN, "ovf-import", null));
    assertThat(plan("ovf export web --to web.ova --sha1")).isEqualTo(new Plan(Scope.ADMIN, "ovf-export", "web"));
  }

  @Test
  void commandsThatDoNotRunInTheDaemonAndBadLinesAreRefused() {
    for (String line : List.of("image info disk.qcow2", "nbd serve vm1", "serve", "token list", "job list", "help")) {
      assertThatThrownBy(() -> plan(line)).as(line).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not run in the daemon");
    }
    for (String line : List.of("volume read vm1 0 512 -", "volume write vm1 0 -", "volume export vm1 -")) {
      assertThatThrownBy(() -> plan(line)).as(line).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("'-' (stdin or stdout) cannot go through the daemon: give a FILE");
    }
    assertThatThrownBy(() -> plan("volume frobnicate")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("frobnicate");
    assertThatThrownBy(() -> plan("volume create onlyname")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("SIZE");
  }
}
