package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.server.TestDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every command group gives the same stdout, stderr and exit code whether it runs in its own
 * process on datastore A or is sent to a daemon that owns an identical datastore B.
 */
final class DaemonEquivalenceTest {
  @TempDir Path tmp;

  /** The same run on both sides, with what differs by nature (paths, uuids, times) normalized. */
  private record Pair(List<String> argv, CliRun local, CliRun daemon) {}

  private Path a;
  private Path b;
  private final List<Pair> pairs = new ArrayList<>();

  private Pair both(String... template) {
    return both(false, template);
  }

  private Pair both(boolean figuresMayDiffer, String... template) {
    CliRun local = CliRun.of(args(template, a));
    CliRun remote = CliRun.of(args(template, b));
    Pair p = new Pair(List.of(template), local, remote);
    pairs.add(p);
    String what = String.join(" ", template);
    assertThat(normalize(remote.err(), b)).as(what + ": stderr").isEqualTo(normalize(local.err(), a));
    String localOut = normalize(local.out(), a);
    String remoteOut = normalize(remote.out(), b);
    if (figuresMayDiffer) {
      localOut = localOut.replaceAll("[0-9.]+", "N");
      remoteOut = remoteOut.replaceAll("[0-9.]+", "N");
    }
    assertThat(remoteOut).as(what + ": stdout").isEqualTo(localOut);
    assertThat(remote.exit()).as(what + ": exit code; stderr " + remote.err()).isEqualTo(local.exit());
    return p;
  }

  private void ok(String... template) {
    Pair p = both(template);
    assertThat(p.local().exit()).as(String.join(" ", template) + ": " + p.local().err()).isZero();
  }

  private void fails(String... template) {
    Pair p = both(template);
    assertThat(p.local().exit()).as(String.join(" ", template)).isNotZero();
    assertThat(p.daemon().err().strip().lines()).as("one-line error").hasSize(1);
  }

  /** Puts side {@code root}'s datastore and files into {@code {ds}} and {@code {files}}. */
  private static String[] args(String[] template, Path root) {
    String[] out = new String[template.length];
    for (int i = 0; i < template.length; i++) {
      out[i] = template[i].replace("{ds}", root.resolve("ds").toString()).replace("{files}", root.resolve("files").toString());
    }
    return out;
  }

  private static String normalize(String text, Path root) {
    return text.replace(root.toString(), "ROOT")
        .replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID")
        .replaceAll("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z", "TIME")
        // The daemon keeps the background cleaner that one-shot commands go without: how many
        // segment files hold the same records depends on when it last ran.
        .replaceAll("\\d+ segments", "N segments")
        .replaceAll("\"(segments|segmentCount)\" : \\d+", "\"$1\" : N")
        .replaceAll("segments: \\d+", "segments: N");
  }

  @Test
  void everyCommandGroupGivesTheSameOutputThroughTheDaemon() throws Exception {
    a = tmp.resolve("A");
    b = tmp.resolve("B");
    byte[] data = new byte[3 << 20];
    new Random(7).nextBytes(data);
    for (Path root : List.of(a, b)) {
      Files.createDirectories(root.resolve("files"));
      Files.write(root.resolve("files/data"), data);
      Files.writeString(root.resolve("files/vm.json"), "{\"cpus\": 2, \"memory\": \"4G\"}");
      Datastore.create(root.resolve("ds"), DatastoreOptions.defaults(), 64L << 30).close();
    }
    try (TestDaemon d = TestDaemon.start(new CliCommandRunner(), b.resolve("ds"))) {

      // datastore
      ok("datastore", "info", "-D", "{ds}");
      ok("-D", "{ds}", "datastore", "info", "--json");
      // volume
      ok("volume", "create", "-D", "{ds}", "vm1", "64M");
      fails("volume", "create", "-D", "{ds}", "vm1", "64M");
      fails("volume", "create", "-D", "{ds}", "bad/name", "1M");
      ok("volume", "write", "-D", "{ds}", "vm1", "0", "{files}/data");
      fails("volume", "write", "-D", "{ds}", "nothere", "0", "{files}/data");
      fails("volume", "write", "-D", "{ds}", "vm1", "0", "{files}/missing.bin");
      ok("volume", "list", "-D", "{ds}");
      ok("volume", "list", "-D", "{ds}", "--json");
      ok("volume", "info", "-D", "{ds}", "vm1");
      ok("volume", "info", "-D", "{ds}", "vm1", "--json");
      fails("volume", "info", "-D", "{ds}", "nothere");
      ok("volume", "read", "-D", "{ds}", "vm1", "4096", "65536", "{files}/read.bin");
      assertThat(Files.readAllBytes(b.resolve("files/read.bin"))).isEqualTo(Files.readAllBytes(a.resolve("files/read.bin")));
      fails("volume", "read", "-D", "{ds}", "vm1", "64M", "1", "{files}/past-end.bin");
      // snapshot
      ok("snapshot", "create", "-D", "{ds}", "vm1@s1");
      ok("snapshot", "create", "-D", "{ds}", "vm1@s2", "--json");
      fails("snapshot", "create", "-D", "{ds}", "vm1@s1");
      fails("snapshot", "create", "-D", "{ds}", "vm1");
      ok("snapshot", "list", "-D", "{ds}", "vm1");
      ok("snapshot", "list", "-D", "{ds}", "vm1", "--json");
      // clone
      ok("clone", "create", "-D", "{ds}", "vm1@s1", "c", "--count", "3");
      ok("clone", "create", "-D", "{ds}", "vm1@s2", "single");
      fails("clone", "create", "-D", "{ds}", "vm1@nope", "c2");
      // cbt
      ok("cbt", "changes", "-D", "{ds}", "vm1", "--since", "*");
      ok("cbt", "changes", "-D", "{ds}", "vm1@s1", "--since", "*", "--json");
      fails("cbt", "changes", "-D", "{ds}", "vm1", "--since", "garbage");
      ok("cbt", "pins", "-D", "{ds}", "--json");
      fails("cbt", "unpin", "-D", "{ds}", "nightly");
      fails("cbt", "pin", "-D", "{ds}", "garbage");
      // export, import, flatten
      ok("volume", "export", "-D", "{ds}", "vm1", "{files}/vm1.raw");
      assertThat(Files.readAllBytes(b.resolve("files/vm1.raw"))).isEqualTo(Files.readAllBytes(a.resolve("files/vm1.raw")));
      fails("volume", "export", "-D", "{ds}", "vm1", "{files}/vm1.raw");
      ok("volume", "export", "-D", "{ds}", "vm1", "{files}/vm1.qcow2", "-O", "qcow2");
      ok("volume", "import", "-D", "{ds}", "{files}/vm1.qcow2", "imported");
      ok("volume", "info", "-D", "{ds}", "imported");
      fails("volume", "import", "-D", "{ds}", "{files}/missing.qcow2", "imported2");
      ok("volume", "flatten", "-D", "{ds}", "c-1");
      fails("volume", "flatten", "-D", "{ds}", "nothere");
      // revert and deletes
      ok("snapshot", "revert", "-D", "{ds}", "vm1@s1");
      fails("snapshot", "delete", "-D", "{ds}", "vm1@s1");
      ok("volume", "delete", "-D", "{ds}", "c-2");
      ok("volume", "delete", "-D", "{ds}", "single");
      ok("snapshot", "delete", "-D", "{ds}", "vm1@s2");
      fails("volume", "delete", "-D", "{ds}", "nothere");
      // vm
      ok("vm", "create", "-D", "{ds}", "web", "--disk", "16M", "--disk", "1M", "--config", "{files}/vm.json");
      fails("vm", "create", "-D", "{ds}", "web", "--disk", "16M");
      ok("vm", "list", "-D", "{ds}");
      ok("vm", "list", "-D", "{ds}", "--json");
      ok("vm", "snapshot", "create", "-D", "{ds}", "web@v1", "-m", "clean install");
      ok("vm", "snapshot", "create", "-D", "{ds}", "web@v2");
      ok("vm", "snapshot", "list", "-D", "{ds}", "web");
      ok("vm", "info", "-D", "{ds}", "web", "--json");
      fails("volume", "delete", "-D", "{ds}", "web-disk0");
      // pool
      ok("pool", "create", "-D", "{ds}", "desk", "--from", "web@v1", "--count", "3", "--persistent-disk", "8M");
      fails("pool", "create", "-D", "{ds}", "desk2", "--from", "web@nope", "--count", "1");
      ok("pool", "list", "-D", "{ds}");
      ok("pool", "info", "-D", "{ds}", "desk", "--json");
      ok("pool", "recompose", "-D", "{ds}", "desk", "--from", "web@v2");
      ok("pool", "refresh", "-D", "{ds}", "desk");
      // ovf: export a VM and a pool, import (as an ovf-import job in the daemon), refuse an existing name
      ok("ovf", "export", "-D", "{ds}", "web", "--to", "{files}/web.ova");
      ok("ovf", "export", "-D", "{ds}", "desk", "--to", "{files}/desk-ovf", "--sha1");
      ok("ovf", "import", "-D", "{ds}", "{files}/web.ova", "--name", "web-copy");
      fails("ovf", "import", "-D", "{ds}", "{files}/web.ova", "--name", "web-copy");
      ok("vm", "info", "-D", "{ds}", "web-copy", "--json");
      ok("vm", "delete", "-D", "{ds}", "web-copy");
      ok("pool", "delete", "-D", "{ds}", "desk");
      ok("vm", "snapshot", "revert", "-D", "{ds}", "web@v1");
      ok("vm", "delete", "-D", "{ds}", "web");
      // the datastore again, after all that; the daemon's background cleaner may have reclaimed
      // space already, so what clean reports differs in its figures only, and afterwards both agree
      Pair clean = both(true, "datastore", "clean", "-D", "{ds}");
      assertThat(clean.local().exit()).isZero();
      ok("datastore", "check", "-D", "{ds}");
      ok("datastore", "check", "-D", "{ds}", "--json");
      ok("volume", "list", "-D", "{ds}", "--json");
      // usage errors are found before anything is sent, the same way
      assertThat(both("volume", "create", "-D", "{ds}", "x").local().exit()).isEqualTo(2);
      assertThat(both("volume", "frobnicate", "-D", "{ds}").local().exit()).isEqualTo(2);
      // help is never sent anywhere
      assertThat(both("-D", "{ds}", "volume", "--help").local().out()).contains("Usage: vstore volume");
    }
    assertThat(pairs).hasSizeGreaterThan(60);
  }
}
