package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupRepoCommandTest {
  @TempDir
  Path dir;

  @Test
  void initCheckVerifyAndKeys() throws Exception {
    Path pass = Files.writeString(dir.resolve("pass"), "correct horse\n");
    Path other = Files.writeString(dir.resolve("other"), "battery staple\n");
    String repo = dir.resolve("repo").toString();
    CliRun init = CliRun.of("backup", "init", repo, "--passphrase-file", pass.toString(), "--chunk-size", "128K");
    assertThat(init.exit()).as(init.err()).isZero();
    assertThat(init.out()).contains("encrypted").contains("128");
    CliRun check = CliRun.of("backup", "check", "--repo", repo, "--passphrase-file", pass.toString());
    assertThat(check.exit()).as(check.err()).isZero();
    assertThat(check.out()).contains("no problems");
    CliRun verify = CliRun.of("backup", "verify", "--repo", repo, "--passphrase-file", pass.toString(), "--sample", "50",
        "--json");
    assertThat(verify.exit()).as(verify.err()).isZero();
    assertThat(verify.json().get("ok").asBoolean()).isTrue();

    CliRun add = CliRun.of("backup", "key", "add", "--repo", repo, "--passphrase-file", pass.toString(),
        "--new-passphrase-file", other.toString(), "--label", "second");
    assertThat(add.exit()).as(add.err()).isZero();
    JsonNode keys = CliRun.of("backup", "key", "list", "--repo", repo, "--passphrase-file", other.toString(), "--json")
        .json();
    assertThat(keys).hasSize(2);
    String first = keys.get(0).get("id").asText();
    CliRun remove = CliRun.of("backup", "key", "remove", first, "--repo", repo, "--passphrase-file", other.toString());
    assertThat(remove.exit()).as(remove.err()).isZero();
    CliRun wrong = CliRun.of("backup", "check", "--repo", repo, "--passphrase-file", pass.toString());
    assertThat(wrong.exit()).isNotZero();
    assertThat(wrong.err().strip()).contains("wrong passphrase or key for repository").doesNotContain("\n");
    CliRun last = CliRun.of("backup", "key", "remove", keys.get(1).get("id").asText(), "--repo", repo,
        "--passphrase-file", other.toString());
    assertThat(last.exit()).isNotZero();
    assertThat(last.err()).contains("last key");
  }

  @Test
  void initTwiceFailsAndBenchPrintsSpeeds() throws Exception {
    String repo = dir.resolve("plain").toString();
    assertThat(CliRun.of("backup", "init", repo).exit()).isZero();
    CliRun again = CliRun.of("backup", "init", repo);
    assertThat(again.exit()).isNotZero();
    assertThat(again.err()).contains("already exists");
    CliRun bench = CliRun.of("backup", "bench", "--millis", "10", "--json");
    assertThat(bench.exit()).as(bench.err()).isZero();
    assertThat(bench.json().findValuesAsText("operation")).contains("HMAC-SHA256", "zstd-1 compress",
        "LZ4 compress", "AES-256-GCM seal");
  }
}
