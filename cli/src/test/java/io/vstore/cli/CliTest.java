package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line's contract as docs/CLI.md states it: help on every command, usage errors,
 * the documented exit codes, the JSON fields of every {@code --json}, {@code -} and
 * {@code --force}, and the messages of bad input.
 */
final class CliTest {
  private static final Path DOC = Path.of("..", "docs", "CLI.md");

  @TempDir Path tmp;

  /** The result of one command line. */

  private static CliRun vstore(String... args) {
    return CliRun.of(args);
  }

  private String ds() {
    return tmp.resolve("ds").toString();
  }

  private CliRun ok(String... args) {
    CliRun r = vstore(args);
    assertThat(r.exit()).as("%s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  /** Returns the words naming every command of the tree, as typed after {@code vstore}. */
  private static List<List<String>> commands() {
    List<List<String>> out = new ArrayList<>();
    for (CommandLine c : CommandLines.all(Vstore.commandLine())) {
      List<String> words = new ArrayList<>(Arrays.asList(c.getCommandSpec().qualifiedName().split(" ")));
      words.removeFirst();
      out.add(words);
    }
    return out;
  }

  @Test
  void everyCommandShowsItsHelpWithDashDashHelpAndDashH() {
    List<List<String>> all = commands();
    assertThat(all).hasSizeGreaterThan(45);
    for (List<String> words : all) {
      for (String flag : new String[] {"--help", "-h"}) {
        List<String> args = new ArrayList<>(words);
        args.add(flag);
        CliRun r = vstore(args.toArray(String[]::new));
        assertThat(r.exit()).as("vstore %s", String.join(" ", args)).isZero();
        assertThat(r.out()).as("vstore %s", String.join(" ", args))
            .startsWith("Usage: " + String.join(" ", List.of("vstore", String.join(" ", words))).strip());
        assertThat(r.err()).isEmpty();
      }
    }
  }

  @Test
  void helpCommandShowsTheNamedCommandsHelp() {
    CliRun r = ok("help", "volume", "create");
    assertThat(r.out()).startsWith("Usage: vstore volume create").contains("SIZE").contains("Virtual size");
  }

  @Test
  void everyOptionAndArgumentHasADescription() {
    for (CommandLine c : CommandLines.all(Vstore.commandLine())) {
      if (c.getCommandSpec().usageMessage().hidden()) {
        continue;
      }
      List<ArgSpec> args = new ArrayList<>(c.getCommandSpec().options());
      args.addAll(c.getCommandSpec().positionalParameters());
      for (ArgSpec a : args) {
        if (a.hidden()) {
          continue;
        }
        String name = a instanceof OptionSpec o ? o.longestName() : a.paramLabel();
        assertThat(String.join(" ", a.description())).as("%s %s", c.getCommandSpec().qualifiedName(), name)
            .isNotBlank();
      }
      assertThat(String.join(" ", c.getCommandSpec().usageMessage().description()))
          .as(c.getCommandSpec().qualifiedName()).isNotBlank();
    }
  }

  @Test
  void usageErrorsAreOneLineAndAHintWithExitTwo() {
    CliRun unknown = vstore("volume", "list", "-D", ds(), "--bogus");
    assertThat(unknown.exit()).isEqualTo(2);
    assertThat(unknown.err().lines().toList()).containsExactly("vstore volume list: Unknown option: '--bogus'",
        "Try 'vstore volume list --help' for more information.");
    CliRun typo = vstore("volume", "lst");
    assertThat(typo.exit()).isEqualTo(2);
    assertThat(typo.err()).contains("Did you mean: list?").contains("Try 'vstore volume --help'");
    CliRun missing = vstore("volume", "create", "-D", ds(), "vm1");
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err().lines().toList()).containsExactly(
        "vstore volume create: Missing required parameter: 'SIZE'",
        "Try 'vstore volume create --help' for more information.");
  }

  @Test
  void aNegativeSizeSaysItIsNegative() {
    CliRun withUnit = vstore("volume", "create", "-D", ds(), "vm1", "-5G");
    assertThat(withUnit.exit()).isEqualTo(2);
    assertThat(withUnit.err()).startsWith("vstore volume create: '-5G' is negative");
    CliRun bare = vstore("volume", "create", "-D", ds(), "vm1", "-4096");
    assertThat(bare.exit()).isEqualTo(2);
    assertThat(bare.err()).contains("'-4096' is negative");
    CliRun notASize = vstore("volume", "create", "-D", ds(), "vm1", "10X");
    assertThat(notASize.exit()).isEqualTo(2);
    assertThat(notASize.err()).contains("'10X' is not a size");
    assertThat(Sizes.parse("1K")).isEqualTo(1024);
  }

  @Test
  void errorsNameWhatFailedAndWhy() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "vm1", "1M");
    CliRun missingFile = vstore("volume", "write", "-D", ds(), "vm1", "0", tmp.resolve("missing.bin").toString());
    assertThat(missingFile.exit()).isEqualTo(1);
    assertThat(missingFile.err()).isEqualTo("vstore: " + tmp.resolve("missing.bin") + ": no such file or directory\n");

    CliRun proc = vstore("datastore", "init", "-D", "/proc/nope");
    assertThat(proc.exit()).isEqualTo(1);
    assertThat(proc.err()).startsWith("vstore: cannot create datastore /proc/nope: /proc/nope: ");

    try (ServerSocket busy = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = busy.getLocalPort();
      CliRun nbd = vstore("nbd", "serve", "--port", String.valueOf(port), "memory:1M");
      assertThat(nbd.exit()).isEqualTo(1);
      assertThat(nbd.err()).startsWith("vstore: cannot listen on 127.0.0.1:" + port + ": ");
    }
  }

  @Test
  void volumeDeleteRefusesWhileSnapshotsExistAndNamesThemUnlessRecursive() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "vm1", "1M");
    ok("snapshot", "create", "-D", ds(), "vm1@mon");
    ok("snapshot", "create", "-D", ds(), "vm1@tue");
    CliRun refused = vstore("volume", "delete", "-D", ds(), "vm1");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).isEqualTo("vstore: cannot delete volume vm1: it has 2 snapshots vm1@mon, vm1@tue"
        + " (delete them first, or delete the volume recursively: -r, recursive=true)\n");
    ok("volume", "delete", "-D", ds(), "-r", "vm1");
    assertThat(ok("volume", "list", "-D", ds(), "--json").json()).isEmpty();
  }

  @Test
  void deletingGivesTheSpaceBackByTheEndOfTheCommand() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "big", "64M");
    byte[] data = new byte[8 << 20];
    new Random(5).nextBytes(data);
    ok("volume", "write", "-D", ds(), "big", "0", Files.write(tmp.resolve("data.bin"), data).toString());
    long used = ok("datastore", "info", "-D", ds(), "--json").json().get("used").asLong();
    assertThat(used).isGreaterThan(8L << 20);
    ok("volume", "delete", "-D", ds(), "big");
    assertThat(ok("datastore", "info", "-D", ds(), "--json").json().get("used").asLong()).isLessThan(used / 4);
  }

  @Test
  void datastoreSetChangesOnlyWhatItIsGiven() throws IOException {
    ok("datastore", "init", "-D", ds(), "--capacity", "1G");
    JsonNode set = ok("datastore", "set", "-D", ds(), "--warning", "60", "--json").json();
    assertThat(set.get("capacity").asLong()).isEqualTo(1L << 30);
    assertThat(set.get("warningPercent").asInt()).isEqualTo(60);
    assertThat(set.get("criticalPercent").asInt()).isEqualTo(90);
    ok("datastore", "set", "-D", ds(), "--capacity", "2G", "--critical", "95");
    JsonNode info = ok("datastore", "info", "-D", ds(), "--json").json();
    assertThat(info.get("capacity").asLong()).isEqualTo(2L << 30);
    assertThat(info.get("warningPercent").asInt()).isEqualTo(60);
    assertThat(info.get("criticalPercent").asInt()).isEqualTo(95);
    CliRun nothing = vstore("datastore", "set", "-D", ds());
    assertThat(nothing.exit()).isEqualTo(2);
    assertThat(nothing.err()).startsWith("vstore datastore set: nothing to set");
    CliRun bad = vstore("datastore", "set", "-D", ds(), "--warning", "99");
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).contains("need 0 < warning < critical <= 100");
  }

  @Test
  void imageCompareAndCheckExitAsQemuImg() throws IOException {
    Path a = tmp.resolve("a.raw");
    Path b = tmp.resolve("b.raw");
    Files.write(a, new byte[1 << 20]);
    byte[] other = new byte[1 << 20];
    other[4096] = 1;
    Files.write(b, other);
    assertThat(vstore("image", "compare", a.toString(), a.toString()).exit()).isZero();
    assertThat(vstore("image", "compare", a.toString(), b.toString()).exit()).isEqualTo(1);
    CliRun error = vstore("image", "compare", a.toString(), tmp.resolve("nope.raw").toString());
    assertThat(error.exit()).isEqualTo(2);
    assertThat(error.err()).contains("nope.raw: no such file or directory");

    Path q = tmp.resolve("q.qcow2");
    ok("image", "create", "-f", "qcow2", q.toString(), "1M");
    assertThat(vstore("image", "check", q.toString()).exit()).isZero();
    CliRun raw = vstore("image", "check", a.toString());
    assertThat(raw.exit()).isEqualTo(63);
    assertThat(raw.err()).startsWith("vstore: unsupported raw");
    assertThat(vstore("image", "check", tmp.resolve("nope.qcow2").toString()).exit()).isEqualTo(1);
  }

  @Test
  void documentedExitCodesAreTheOnesInTheDoc() throws IOException {
    String doc = Files.readString(DOC);
    assertThat(doc).contains("| 0 | success |").contains("| 2 | usage error")
        .contains("`image compare A B` | 0 identical, 1 different, 2 error")
        .contains("`image check FILE` | 0 clean, 1 the check could not run, 2 corruptions, 3 leaked clusters only, 63");
    assertThat(CommandLines.USAGE).isEqualTo(2);
  }

  @Test
  void everyJsonOutputHasTheFieldsTheDocLists() throws IOException {
    String ds = ds();
    ok("datastore", "init", "-D", ds, "--capacity", "1G");
    ok("vm", "create", "-D", ds, "web", "--disk", "16M");
    ok("vm", "snapshot", "create", "-D", ds, "web@s1");
    ok("pool", "create", "-D", ds, "p", "--from", "web@s1", "--count", "2");
    ok("volume", "create", "-D", ds, "v", "16M");
    ok("snapshot", "create", "-D", ds, "v@a");
    Path img = tmp.resolve("x.qcow2");
    ok("image", "create", "-f", "qcow2", img.toString(), "1M");
    // The arguments that make each documented command runnable on the fixture above.
    java.util.Map<String, List<String>> runnable = new java.util.LinkedHashMap<>();
    runnable.put("datastore info", List.of("datastore", "info", "-D", ds));
    runnable.put("datastore set", List.of("datastore", "set", "-D", ds, "--warning", "70"));
    runnable.put("datastore check", List.of("datastore", "check", "-D", ds));
    runnable.put("datastore clean", List.of("datastore", "clean", "-D", ds));
    String sealed = tmp.resolve("sealed").toString();
    Path sealedPass = Files.writeString(tmp.resolve("sealed-pass"), "a passphrase\n");
    ok("datastore", "init", "-D", sealed, "--encrypt", "--passphrase-file", sealedPass.toString());
    runnable.put("datastore key list", List.of("datastore", "key", "list", "-D", sealed, "--passphrase-file",
        sealedPass.toString()));
    runnable.put("volume list", List.of("volume", "list", "-D", ds));
    runnable.put("volume info VOLUME", List.of("volume", "info", "-D", ds, "v"));
    runnable.put("volume info VOLUME@SNAP", List.of("volume", "info", "-D", ds, "v@a"));
    runnable.put("snapshot create VOLUME@SNAP", List.of("snapshot", "create", "-D", ds, "v@b"));
    runnable.put("snapshot list [VOLUME]", List.of("snapshot", "list", "-D", ds));
    runnable.put("cbt changes", List.of("cbt", "changes", "-D", ds, "v", "--since", "*"));
    String changeId = ok("volume", "info", "-D", ds, "v", "--json").json().get("changeId").asText();
    runnable.put("cbt pin CHANGEID", List.of("cbt", "pin", "-D", ds, changeId, "--name", "backup"));
    runnable.put("cbt pins [VOLUME]", List.of("cbt", "pins", "-D", ds));
    runnable.put("cbt unpin PIN", List.of("cbt", "unpin", "-D", ds, "backup"));
    runnable.put("vm list", List.of("vm", "list", "-D", ds));
    runnable.put("vm info VM", List.of("vm", "info", "-D", ds, "web"));
    runnable.put("vm snapshot list VM", List.of("vm", "snapshot", "list", "-D", ds, "web"));
    Path iso = Files.write(tmp.resolve("boot.iso"), new byte[] {1, 2, 3});
    ok("vm", "media", "add", "-D", ds, "web", iso.toString());
    runnable.put("vm media list VM", List.of("vm", "media", "list", "-D", ds, "web"));
    runnable.put("pool list", List.of("pool", "list", "-D", ds));
    runnable.put("pool info POOL", List.of("pool", "info", "-D", ds, "p"));
    runnable.put("image info FILE", List.of("image", "info", img.toString()));
    runnable.put("image check FILE", List.of("image", "check", img.toString()));
    runnable.put("image map FILE", List.of("image", "map", img.toString()));
    runnable.put("image measure", List.of("image", "measure", "-O", "qcow2", img.toString()));
    String plainRepo = tmp.resolve("backup-plain").toString();
    String secretRepo = tmp.resolve("backup-secret").toString();
    Path pass = Files.writeString(tmp.resolve("backup-pass"), "passphrase one\n");
    Path pass2 = Files.writeString(tmp.resolve("backup-pass2"), "passphrase two\n");
    ok("backup", "init", secretRepo, "--passphrase-file", pass.toString());
    runnable.put("backup init REPO", List.of("backup", "init", plainRepo));
    runnable.put("backup check", List.of("backup", "check", "--repo", plainRepo));
    runnable.put("backup verify", List.of("backup", "verify", "--repo", plainRepo));
    runnable.put("backup key add", List.of("backup", "key", "add", "--repo", secretRepo, "--passphrase-file",
        pass.toString(), "--new-passphrase-file", pass2.toString()));
    runnable.put("backup key list", List.of("backup", "key", "list", "--repo", secretRepo, "--passphrase-file",
        pass.toString()));
    runnable.put("backup bench", List.of("backup", "bench", "--millis", "10"));
    String pointsRepo = tmp.resolve("backup-points").toString();
    ok("backup", "init", pointsRepo);
    ok("backup", "create", "-D", ds, "v", "--repo", pointsRepo);
    String point = ok("backup", "list", "--repo", pointsRepo, "--json").json().get(0).get("id").asText();
    runnable.put("backup create VOLUME", List.of("backup", "create", "-D", ds, "v", "--repo", plainRepo));
    runnable.put("backup list", List.of("backup", "list", "--repo", plainRepo));
    runnable.put("backup info [POINT]", List.of("backup", "info", "--repo", pointsRepo, point));
    runnable.put("backup diff A B", List.of("backup", "diff", "--repo", pointsRepo, point, point));
    runnable.put("restore POINT", List.of("restore", "-D", ds, point, "--repo", pointsRepo, "--to-file",
        tmp.resolve("restored.raw").toString()));

    Path ova = tmp.resolve("web.ova");
    ok("ovf", "export", "-D", ds, "web", "--to", ova.toString());
    runnable.put("ovf probe FILE", List.of("ovf", "probe", ova.toString()));

    ok("image", "snapshot", "-c", "s1", img.toString());
    runnable.put("image snapshot -l FILE", List.of("image", "snapshot", "-l", img.toString()));

    String maintRepo = tmp.resolve("backup-maint").toString();
    String syncTarget = tmp.resolve("backup-sync").toString();
    ok("backup", "init", maintRepo, "--chunk-size", "16K");
    String maintPoint = BackupMaintCommandTest.points(Path.of(maintRepo), 1).getFirst();
    ok("backup", "init", syncTarget, "--copy-ids-from", maintRepo);
    runnable.put("backup prune", List.of("backup", "prune", "--repo", plainRepo, "--keep-last", "1", "--dry-run"));
    runnable.put("backup protect POINT", List.of("backup", "protect", maintPoint, "--repo", maintRepo));
    runnable.put("backup gc", List.of("backup", "gc", "--repo", plainRepo));
    runnable.put("backup sync", List.of("backup", "sync", "--from", maintRepo, "--to", syncTarget));

    Pattern row = Pattern.compile("^\\| `([^`]+)` \\| (object|array) \\| (.+) \\|$", Pattern.MULTILINE);
    Matcher m = row.matcher(Files.readString(DOC));
    Set<String> documented = new LinkedHashSet<>();
    while (m.find()) {
      String command = m.group(1);
      documented.add(command);
      List<String> args = runnable.get(command);
      assertThat(args).as("a runnable form of documented command '%s'", command).isNotNull();
      List<String> withJson = new ArrayList<>(args);
      withJson.add("--json");
      JsonNode json = ok(withJson.toArray(String[]::new)).json();
      assertThat(json.isArray()).as(command).isEqualTo(m.group(2).equals("array"));
      JsonNode sample = json.isArray() ? json.get(0) : json;
      assertThat(sample).as("%s prints at least one element", command).isNotNull();
      List<String> fields = new ArrayList<>();
      sample.fieldNames().forEachRemaining(fields::add);
      List<String> expected = Arrays.stream(m.group(3).split(",")).map(s -> s.strip().replace("`", "")).toList();
      assertThat(fields).as("JSON fields of %s", command).containsExactlyElementsOf(expected);
      for (String f : fields) {
        assertThat(f).as("%s: camelCase", command).matches("[a-z][A-Za-z0-9]*");
      }
    }
    assertThat(documented).containsExactlyElementsOf(runnable.keySet());
    // Every command that takes --json is in the table.
    Set<String> withJsonOption = new LinkedHashSet<>();
    for (CommandLine c : CommandLines.all(Vstore.commandLine())) {
      if (c.getCommandSpec().optionsMap().containsKey("--json")) {
        withJsonOption.add(c.getCommandSpec().qualifiedName().substring("vstore ".length()));
      }
    }
    for (String command : withJsonOption) {
      if (command.startsWith("token ") || command.startsWith("job ") || command.startsWith("export ")
          || command.startsWith("replica ") || command.equals("dashboard")) {
        continue; // they print the daemon API's JSON as it is, described in its OpenAPI document
      }
      if (command.equals("migrate") || command.equals("pool rebalance")) {
        continue; // runs only in a daemon (MigrateDaemonTest); CLI.md lists its fields in its own paragraph
      }
      if (command.startsWith("checkout") || command.equals("checkin")) {
        continue; // they need a server: CheckoutCommandTest checks their JSON against docs/CLI.md
      }
      assertThat(documented.stream().anyMatch(d -> d.startsWith(command)))
          .as("'%s --json' is documented in docs/CLI.md", command).isTrue();
    }
  }

  @Test
  void dashIsStdinAndStdout() throws Exception {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "vm1", "1M");
    byte[] data = new byte[300_000];
    new Random(3).nextBytes(data);
    ByteArrayOutputStream none = new ByteArrayOutputStream();
    CliRun write = ScopedValue.where(StdIo.STREAMS, new StdIo.Streams(new ByteArrayInputStream(data), none))
        .call(() -> vstore("volume", "write", "-D", ds(), "vm1", "4096", "-"));
    assertThat(write.exit()).isZero();
    assertThat(write.out()).contains("wrote 300000 bytes");

    ByteArrayOutputStream read = new ByteArrayOutputStream();
    CliRun r = ScopedValue.where(StdIo.STREAMS, new StdIo.Streams(new ByteArrayInputStream(new byte[0]), read))
        .call(() -> vstore("volume", "read", "-D", ds(), "vm1", "4096", "300000", "-"));
    assertThat(r.exit()).isZero();
    assertThat(read.toByteArray()).isEqualTo(data);

    ByteArrayOutputStream exported = new ByteArrayOutputStream();
    CliRun e = ScopedValue.where(StdIo.STREAMS, new StdIo.Streams(new ByteArrayInputStream(new byte[0]), exported))
        .call(() -> vstore("volume", "export", "-D", ds(), "vm1", "-"));
    assertThat(e.exit()).isZero();
    assertThat(exported.size()).isEqualTo(1 << 20);
    assertThat(Arrays.copyOfRange(exported.toByteArray(), 4096, 4096 + data.length)).isEqualTo(data);

    CliRun qcow2 = vstore("volume", "export", "-D", ds(), "vm1", "-", "-O", "qcow2");
    assertThat(qcow2.exit()).isEqualTo(1);
    assertThat(qcow2.err()).contains("writes raw only");
  }

  @Test
  void filesGoThroughTheRunnersPathConverterAndDashStaysStdout() throws Exception {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "vm1", "1M");
    Path cwd = Files.createDirectories(tmp.resolve("caller"));
    // As a runner executing commands for a caller in another directory would set it up.
    CommandLine cl = Vstore.commandLine();
    cl.registerConverter(Path.class, cwd::resolve);
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    assertThat(cl.execute("volume", "read", "-D", ds(), "vm1", "0", "4096", "relative.bin")).as(err.toString()).isZero();
    assertThat(Files.size(cwd.resolve("relative.bin"))).isEqualTo(4096);
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    CommandLine again = Vstore.commandLine();
    again.registerConverter(Path.class, cwd::resolve);
    int exit = ScopedValue.where(StdIo.STREAMS, new StdIo.Streams(new ByteArrayInputStream(new byte[0]), stdout))
        .call(() -> again.execute("volume", "read", "-D", ds(), "vm1", "0", "512", "-"));
    assertThat(exit).isZero();
    assertThat(stdout.size()).isEqualTo(512);
    assertThat(cwd.resolve("-")).doesNotExist();
  }

  @Test
  void anExistingOutputIsOverwrittenOnlyWithForce() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "vm1", "1M");
    Path out = Files.writeString(tmp.resolve("out.raw"), "keep");
    String refusal = "vstore: " + out + " exists; use --force to overwrite it\n";
    String[][] writers = {
        {"volume", "export", "-D", ds(), "vm1", out.toString()},
        {"volume", "read", "-D", ds(), "vm1", "0", "4096", out.toString()},
        {"image", "create", out.toString(), "1M"},
        {"image", "convert", tmp.resolve("in.raw").toString(), out.toString()}};
    Files.write(tmp.resolve("in.raw"), new byte[65536]);
    for (String[] w : writers) {
      CliRun refused = vstore(w);
      assertThat(refused.exit()).as(String.join(" ", w)).isEqualTo(1);
      assertThat(refused.err()).as(String.join(" ", w)).isEqualTo(refusal);
      assertThat(Files.readString(out)).isEqualTo("keep");
    }
    for (String[] w : writers) {
      List<String> forced = new ArrayList<>(Arrays.asList(w));
      forced.add("--force");
      ok(forced.toArray(String[]::new));
      Files.writeString(out, "keep");
    }
  }

  @Test
  void imageConvertDefaultsToRawAndShowsProgressWhenAsked() throws IOException {
    Path in = tmp.resolve("in.qcow2");
    ok("image", "create", "-f", "qcow2", in.toString(), "4M");
    Path out = tmp.resolve("out.img");
    CliRun r = ok("image", "convert", "-p", in.toString(), out.toString());
    assertThat(r.err()).contains("convert in.qcow2 [").contains("100%");
    assertThat(ok("image", "info", out.toString(), "--json").json().get("format").asText()).isEqualTo("raw");
    Path quiet = tmp.resolve("quiet.img");
    assertThat(ok("image", "convert", "--no-progress", in.toString(), quiet.toString()).err()).isEmpty();
  }

  @Test
  void aRunnersProgressSinkHearsOfTheWorkEvenWithoutABar() throws Exception {
    Path in = tmp.resolve("in.raw");
    Files.write(in, new byte[8 << 20]);
    List<long[]> updates = java.util.Collections.synchronizedList(new ArrayList<>());
    CliRun r = ScopedValue.where(Progress.SINK, (done, total) -> updates.add(new long[] {done, total}))
        .call(() -> vstore("image", "convert", "--no-progress", in.toString(), tmp.resolve("out.raw").toString()));
    assertThat(r.exit()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(updates).isNotEmpty();
    assertThat(updates.getLast()).containsExactly(8L << 20, 8L << 20);
  }

  @Test
  void topLevelHelpNamesTheDatastoreChoiceAndExitCodes() {
    assertThat(ok("--help").out()).contains("$VSTORE_DATASTORE").contains("-D PATH").contains("2 usage error");
  }

  @Test
  void aProgressBarNeverWrapsTheTerminal() {
    String longName = "import " + "a-very-long-volume-name-".repeat(6);
    for (int columns : new int[] {20, 40, 80, 200}) {
      String line = Progress.line(longName, 512, 1024, 123 << 20, columns);
      assertThat(line.length()).as("%d columns: %s", columns, line).isLessThan(columns);
      assertThat(line).contains("50%");
    }
    assertThat(Progress.line("import a", 1, 4, 0, 80)).startsWith("import a [");
  }

  @Test
  void volumeListSortsNaturallyShowsOriginsAndFilters() throws IOException {
    ok("datastore", "init", "-D", ds());
    for (String v : new String[] {"vm10", "vm2", "vm1"}) {
      ok("volume", "create", "-D", ds(), v, "1M");
    }
    ok("snapshot", "create", "-D", ds(), "vm2@gold");
    ok("clone", "create", "-D", ds(), "vm2@gold", "c");
    ok("vm", "create", "-D", ds(), "web", "--disk", "1M");
    List<String> names = new ArrayList<>();
    ok("volume", "list", "-D", ds(), "--json").json().forEach(v -> names.add(v.get("name").asText()));
    assertThat(names).containsExactly("c", "vm1", "vm2", "vm10", "web-disk0");
    CliRun table = ok("volume", "list", "-D", ds());
    assertThat(table.out()).contains("clone of vm2@gold").contains("vm web");
    JsonNode web = ok("volume", "list", "-D", ds(), "--vm", "web", "--json").json();
    assertThat(web).hasSize(1);
    assertThat(web.get(0).get("vm").asText()).isEqualTo("web");
    assertThat(vstore("volume", "list", "-D", ds(), "--vm", "nope").err()).contains("no VM nope");
    JsonNode snap = ok("volume", "info", "-D", ds(), "vm2@gold", "--json").json();
    assertThat(snap.get("clones")).hasSize(1);
    ok("snapshot", "create", "-D", ds(), "vm10@a");
    List<String> snaps = new ArrayList<>();
    ok("snapshot", "list", "-D", ds(), "--json").json().forEach(s -> snaps.add(s.get("volume").asText()));
    assertThat(snaps).containsExactly("vm2", "vm10");
    assertThat(NaturalOrder.INSTANCE.compare("disk9", "disk10")).isNegative();
    assertThat(NaturalOrder.INSTANCE.compare("a", "a1")).isNegative();
  }

  @Test
  void imageMeasureGivesQemuImgsFigures() throws Exception {
    Path raw = tmp.resolve("m.raw");
    byte[] data = new byte[3 << 20];
    new Random(7).nextBytes(data);
    try (var f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
      f.setLength(64L << 20);
      f.seek(5L << 20);
      f.write(data);
      f.seek((40L << 20) + 100);
      f.write(data, 0, 5000); // not cluster-aligned: two clusters
    }
    List<List<String>> cases = List.of(
        List.of("-O", "qcow2", raw.toString()), List.of("-O", "raw", raw.toString()),
        List.of("-O", "qcow2", "--size", "1G"), List.of("-O", "qcow2", "--size", "100G"),
        List.of("-O", "qcow2", "-o", "cluster_size=4096", "--size", "10G"),
        List.of("-O", "qcow2", "-o", "cluster_size=2M", raw.toString()));
    for (List<String> c : cases) {
      List<String> ours = new ArrayList<>(List.of("image", "measure"));
      ours.addAll(c);
      List<String> qemu = new ArrayList<>(List.of("qemu-img", "measure"));
      qemu.addAll(c);
      Process p = new ProcessBuilder(qemu).redirectErrorStream(true).start();
      String expected = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertThat(p.waitFor()).as("%s: %s", qemu, expected).isZero();
      assertThat(ok(ours.toArray(String[]::new)).out()).as(String.join(" ", c)).isEqualTo(expected);
    }
    CliRun vmdk = vstore("image", "measure", "-O", "vmdk", "--size", "1G");
    assertThat(vmdk.exit()).isEqualTo(1);
    assertThat(vmdk.err()).contains("unsupported: measure for format vmdk");
  }

  @Test
  void imageResizeGrowsRawAndShrinksOnlyWithShrink() throws IOException {
    Path raw = Files.write(tmp.resolve("r.raw"), new byte[1 << 20]);
    ok("image", "resize", raw.toString(), "+1M");
    assertThat(Files.size(raw)).isEqualTo(2L << 20);
    ok("image", "resize", raw.toString(), "8M");
    assertThat(Files.size(raw)).isEqualTo(8L << 20);
    CliRun refused = vstore("image", "resize", raw.toString(), "-1M");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("use --shrink");
    ok("image", "resize", "--shrink", raw.toString(), "-1M");
    assertThat(Files.size(raw)).isEqualTo(7L << 20);
    Path q = tmp.resolve("q.qcow2");
    ok("image", "create", "-f", "qcow2", q.toString(), "1M");
    ok("image", "resize", q.toString(), "2M");
    assertThat(ok("image", "info", q.toString()).out()).contains("(2097152 bytes)");
    Path vhd = tmp.resolve("v.vhd");
    ok("image", "create", "-f", "vpc", vhd.toString(), "1M");
    CliRun vpc = vstore("image", "resize", vhd.toString(), "2M");
    assertThat(vpc.exit()).isEqualTo(1);
    assertThat(vpc.err()).contains("unsupported: image resize of vpc images");
  }

  @Test
  void volumeResizeGrowsAndShrinksOnlyWhenAllowed() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "v", "1M");
    assertThat(ok("volume", "resize", "-D", ds(), "v", "+1M").out()).isEqualTo("resized volume v from 1.0 MiB to 2.0 MiB\n");
    ok("volume", "resize", "-D", ds(), "v", "10M");
    CliRun refused = vstore("volume", "resize", "-D", ds(), "v", "-2M");
    assertThat(refused.exit()).isEqualTo(1);
    assertThat(refused.err()).contains("cannot shrink volume v").contains("without allowing it");
    ok("volume", "resize", "-D", ds(), "--allow-shrink", "v", "-2M");
    assertThat(ok("volume", "info", "-D", ds(), "v", "--json").json().get("size").asLong()).isEqualTo(8L << 20);
    ok("snapshot", "create", "-D", ds(), "v@s");
    assertThat(vstore("volume", "resize", "-D", ds(), "v", "16M").err()).contains("its snapshots v@s share its size");
  }

  @Test
  void volumeRenameKeepsSnapshotsAndRefusesOwnedVolumes() throws IOException {
    ok("datastore", "init", "-D", ds());
    ok("volume", "create", "-D", ds(), "a", "1M");
    ok("snapshot", "create", "-D", ds(), "a@s");
    assertThat(ok("volume", "rename", "-D", ds(), "a", "b").out()).isEqualTo("renamed volume a to b\n");
    assertThat(ok("snapshot", "list", "-D", ds(), "b", "--json").json().get(0).get("volume").asText()).isEqualTo("b");
    ok("vm", "create", "-D", ds(), "web", "--disk", "1M");
    CliRun owned = vstore("volume", "rename", "-D", ds(), "web-disk0", "x");
    assertThat(owned.exit()).isEqualTo(1);
    assertThat(owned.err()).contains("volume web-disk0 belongs to VM web");
  }

  @Test
  void logRecordsAreOneConciseLine() {
    String message = Logs.format("datastore {0}: usage {1}% is at or above\nthe warning threshold", "/ds", 80);
    assertThat(Logs.terminalLine(System.Logger.Level.WARNING, message, null))
        .isEqualTo("vstore: warning: datastore /ds: usage 80% is at or above the warning threshold");
  }

  @Test
  void completionPrintsAScript() {
    CliRun r = ok("completion");
    assertThat(r.out()).contains("complete").contains("vstore");
  }
}
