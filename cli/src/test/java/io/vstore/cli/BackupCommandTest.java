package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.server.TestDaemon;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** backup create|list|info|diff and restore end to end, through the launcher's entry point. */
final class BackupCommandTest {
  @TempDir Path tmp;
  private Path repo;

  private CliRun vstore(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "-D";
    all[args.length + 1] = tmp.resolve("ds").toString();
    return CliRun.of(all);
  }

  private CliRun ok(String... args) {
    CliRun r = vstore(args);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  private Path file(String name, int size, long seed) throws IOException {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return Files.write(tmp.resolve(name), b);
  }

  @BeforeEach
  void setUp() throws IOException {
    ok("datastore", "init");
    repo = Files.createDirectories(tmp.resolve("repo"));
    try (DirectoryStore store = DirectoryStore.open(repo);
        Repository r = Repository.init(store, null, RepositoryOptions.defaults())) {
      assertThat(r.config().chunkSize()).isEqualTo(RepositoryOptions.DEFAULT_CHUNK);
    }
  }

  private byte[] export(String volume) throws IOException {
    Path out = tmp.resolve("export-" + volume + "-" + System.nanoTime() + ".raw");
    ok("volume", "export", volume, out.toString());
    return Files.readAllBytes(out);
  }

  @Test
  void backupIncrementalListInfoDiffAndRestore() throws IOException {
    ok("volume", "create", "v", "8M");
    ok("volume", "write", "v", "1M", file("a.bin", 300_000, 1).toString());
    JsonNode first = ok("backup", "create", "v", "--repo", repo.toString(), "--tag", "daily", "--json").json().get(0);
    assertThat(first.get("mode").asText()).isEqualTo("full");
    assertThat(first.get("bytesRead").asLong()).isLessThan(1L << 20); // allocated extents only
    byte[] before = export("v");

    ok("volume", "write", "v", "5M", file("b.bin", 4096, 2).toString());
    JsonNode second = ok("backup", "create", "v", "--repo", repo.toString(), "--json").json().get(0);
    assertThat(second.get("mode").asText()).isEqualTo("incremental");
    assertThat(second.get("bytesRead").asLong()).isEqualTo(64 << 10); // one changed chunk
    assertThat(second.get("newChunks").asLong()).isEqualTo(1);
    byte[] after = export("v");

    JsonNode list = ok("backup", "list", "--repo", repo.toString(), "--json").json();
    assertThat(list).hasSize(2);
    for (String field : List.of("id", "time", "source", "changeId", "bytes", "newBytes", "protected")) {
      assertThat(list.get(0).has(field)).as(field).isTrue();
    }
    String a = list.get(0).get("id").asText();
    String b = list.get(1).get("id").asText();
    assertThat(list.get(0).get("tags").get(0).asText()).isEqualTo("daily");
    assertThat(list.get(1).get("base").asText()).isEqualTo(a);
    assertThat(ok("backup", "list", "--repo", repo.toString()).out()).contains(a).contains(b).contains("daily");
    assertThat(ok("backup", "info", b.substring(0, 8), "--repo", repo.toString(), "--json").json()
        .get("source").asText()).isEqualTo("v");

    JsonNode diff = ok("backup", "diff", a, b, "--repo", repo.toString(), "--json").json();
    assertThat(diff.get("ranges")).hasSize(1);
    assertThat(diff.get("ranges").get(0).get("offset").asLong()).isEqualTo(5L << 20);
    assertThat(diff.get("bytes").asLong()).isEqualTo(64 << 10);
    assertThat(ok("backup", "diff", a, b, "--repo", repo.toString()).out()).contains((5L << 20) + " " + (64 << 10));

    ok("restore", a, "--repo", repo.toString(), "--to-volume", "old");
    assertThat(export("old")).isEqualTo(before);
    CliRun exists = vstore("restore", b, "--repo", repo.toString(), "--to-volume", "old");
    assertThat(exists.exit()).isNotZero();
    assertThat(exists.err()).contains("--force-replace");
    ok("restore", b, "--repo", repo.toString(), "--to-volume", "old", "--force-replace");
    assertThat(export("old")).isEqualTo(after);
    assertThat(ok("volume", "list", "--json").out()).doesNotContain("old.re");
  }

  @Test
  void restoreToImageFilesComparesEqualWithQemuImg() throws Exception {
    ok("volume", "create", "v", "4M");
    ok("volume", "write", "v", "100000", file("a.bin", 700_000, 3).toString());
    ok("backup", "create", "v", "--repo", repo.toString());
    Path raw = tmp.resolve("v.raw");
    ok("volume", "export", "v", raw.toString());
    String point = ok("backup", "list", "--repo", repo.toString(), "--json").json().get(0).get("id").asText();
    for (String format : List.of("raw", "qcow2", "vmdk", "vdi")) {
      Path out = tmp.resolve("restored." + format);
      ok("restore", point, "--repo", repo.toString(), "--to-file", out.toString(), "-O", format);
      assertThat(Files.exists(tmp.resolve("restored." + format + ".restore-progress"))).isFalse();
      if (format.equals("raw")) {
        assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(raw));
      }
      Assumptions.assumeTrue(onPath("qemu-img"), "qemu-img is not installed: cannot compare the restored images");
      List<String> cmd = new ArrayList<>(Arrays.asList("qemu-img", "compare", "-f", "raw", "-F", format,
          raw.toString(), out.toString()));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String text = new String(p.getInputStream().readAllBytes());
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("qemu-img compare raw %s: %s", format, text).isZero();
    }
  }

  @Test
  void vmBackupIsOnePointPerDiskFromOneSnapshot() throws IOException {
    ok("vm", "create", "web", "--disk", "2M", "--disk", "3M");
    ok("volume", "write", "web-disk0", "0", file("a.bin", 10_000, 4).toString());
    ok("volume", "write", "web-disk1", "1M", file("b.bin", 20_000, 5).toString());
    JsonNode points = ok("backup", "create", "web", "--repo", repo.toString(), "--json").json();
    assertThat(points).hasSize(2);
    assertThat(points.get(0).get("point").get("group").asText()).isEqualTo("web");
    assertThat(points.get(0).get("point").get("kind").asText()).isEqualTo("vm");
    assertThat(points.get(1).get("volume").asText()).isEqualTo("web-disk1");
    assertThat(ok("snapshot", "list", "--json").json()).isEmpty(); // the backup's snapshot is gone
    String disk1 = points.get(1).get("point").get("id").asText();
    ok("restore", disk1, "--repo", repo.toString(), "--to-volume", "copy1");
    assertThat(export("copy1")).isEqualTo(export("web-disk1"));
    assertThat(ok("backup", "list", "--repo", repo.toString(), "--source", "web", "--json").json()).hasSize(2);
  }

  @Test
  void backupAndRestoreRunAsJobsOfTheDaemonThatOwnsTheDatastore() throws Exception {
    ok("volume", "create", "v", "4M");
    ok("volume", "write", "v", "0", file("a.bin", 200_000, 6).toString());
    try (TestDaemon d = TestDaemon.start(new CliCommandRunner(), tmp.resolve("ds"))) {
      String job = ok("backup", "create", "v", "--repo", repo.toString(), "--no-wait").out().strip();
      assertThat(ok("job", "wait", job).exit()).isZero();
      assertThat(ok("job", "show", job, "--json").json().get("kind").asText()).isEqualTo("backup");
      // Waiting streams the job's output as if it ran here; the daemon's snapshot is gone afterwards.
      assertThat(ok("volume", "write", "v", "3M", file("b.bin", 4096, 7).toString()).exit()).isZero();
      assertThat(ok("backup", "create", "v", "--repo", repo.toString()).out()).contains("(incremental)");
      assertThat(ok("snapshot", "list", "--json").json()).isEmpty();
      String last = ok("backup", "list", "--repo", repo.toString(), "--json").json().get(1).get("id").asText();
      String restore = ok("restore", last, "--repo", repo.toString(), "--to-volume", "copy", "--no-wait").out().strip();
      assertThat(ok("job", "wait", restore).exit()).isZero();
      assertThat(ok("job", "show", restore, "--json").json().get("kind").asText()).isEqualTo("restore");
      assertThat(export("copy")).isEqualTo(export("v"));
    }
  }

  @Test
  void wrongTargetsAreOneLineErrors() {
    CliRun none = vstore("backup", "create", "nothing", "--repo", repo.toString());
    assertThat(none.exit()).isNotZero();
    assertThat(none.err()).contains("no volume or VM named nothing");
    CliRun both = vstore("restore", "abc", "--repo", repo.toString(), "--to-volume", "x", "--to-file", "y");
    assertThat(both.exit()).isNotZero();
  }

  private static boolean onPath(String tool) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(dir, tool))) {
        return true;
      }
    }
    return false;
  }
}
