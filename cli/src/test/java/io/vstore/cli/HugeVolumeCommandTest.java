package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 64 TiB volume (the largest) through the command line: create, write and read its first,
 * middle and last blocks, info, snapshots, changed blocks, check, export to qcow2, and an NBD
 * export that qemu-io and nbdinfo use. Nothing here costs in proportion to the virtual size.
 */
final class HugeVolumeCommandTest {
  private static final long SIZE = 64L << 40;
  private static final long[] BLOCKS = {0, SIZE / 2 + (7 << 12), SIZE - 4096};
  private static final Pattern SERVING = Pattern.compile("serving (\\S+) .* at nbd://127\\.0\\.0\\.1:(\\d+)/");

  @TempDir Path tmp;

  private String ds() {
    return tmp.resolve("ds").toString();
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  /** Creates the 64 TiB volume {@code v} holding block {@code i} filled with byte {@code 0x41 + i}. */
  private void createWithThreeBlocks() throws IOException {
    ok("datastore", "init", "-D", ds());
    assertThat(ok("volume", "create", "-D", ds(), "v", "64T").out()).contains("created volume v (64.0 TiB)");
    for (int i = 0; i < BLOCKS.length; i++) {
      ok("volume", "write", "-D", ds(), "v", Long.toString(BLOCKS[i]), pattern(i).toString());
    }
  }

  private Path pattern(int i) throws IOException {
    byte[] b = new byte[4096];
    Arrays.fill(b, (byte) (0x41 + i));
    return Files.write(tmp.resolve("block" + i), b);
  }

  private static String run(String... command) throws IOException, InterruptedException {
    Path out = Files.createTempFile("peer", ".out");
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " timed out");
    }
    String text = Files.readString(out);
    Files.delete(out);
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), text).isZero();
    return text;
  }

  /** The qemu-io commands that check the three blocks and the block before the middle one. */
  private static List<String> qemuIoChecks() {
    List<String> c = new ArrayList<>();
    for (int i = 0; i < BLOCKS.length; i++) {
      c.addAll(List.of("-c", "read -P " + (0x41 + i) + " " + BLOCKS[i] + " 4k"));
    }
    c.addAll(List.of("-c", "read -P 0 " + (BLOCKS[1] - 4096) + " 4k"));
    return c;
  }

  @Test
  void aVolumeOf64TiBIsCreatedWrittenAtItsEndsCheckedAndExported() throws Exception {
    createWithThreeBlocks();
    CliRun big = CliRun.of("volume", "create", "-D", ds(), "w", "65T");
    assertThat(big.exit()).isNotZero();
    assertThat(big.err().strip()).doesNotContain("\n").contains("64 TiB");
    CliRun past = CliRun.of("volume", "write", "-D", ds(), "v", Long.toString(SIZE - 2048), pattern(0).toString());
    assertThat(past.exit()).isNotZero();
    assertThat(past.err().strip()).doesNotContain("\n").contains("outside the device");

    Path last = tmp.resolve("last");
    ok("volume", "read", "-D", ds(), "v", Long.toString(SIZE - 4096), "4096", last.toString());
    assertThat(Files.readAllBytes(last)).isEqualTo(Files.readAllBytes(pattern(2)));
    JsonNode info = ok("volume", "info", "-D", ds(), "v", "--json").json();
    assertThat(info.get("size").asLong()).isEqualTo(SIZE);
    assertThat(info.get("mapped").asLong()).isEqualTo(3 * 4096);
    assertThat(ok("volume", "info", "-D", ds(), "v").out()).contains("size: 64.0 TiB");

    ok("snapshot", "create", "-D", ds(), "v@s");
    String since = ok("snapshot", "list", "-D", ds(), "v", "--json").json().get(0).get("changeId").asText();
    ok("volume", "write", "-D", ds(), "v", Long.toString(SIZE - 4096), pattern(1).toString());
    JsonNode changes = ok("cbt", "changes", "-D", ds(), "v", "--since", since, "--json").json().get("extents");
    assertThat(changes).hasSize(1);
    assertThat(changes.get(0).get("offset").asLong()).isEqualTo(SIZE - 4096);
    assertThat(changes.get(0).get("length").asLong()).isEqualTo(4096);
    JsonNode all = ok("cbt", "changes", "-D", ds(), "v@s", "--since", "*", "--json").json().get("extents");
    assertThat(all).hasSize(3);
    assertThat(all.get(2).get("offset").asLong()).isEqualTo(SIZE - 4096);
    assertThat(ok("datastore", "check", "-D", ds()).out()).contains("no problems found");

    Path qcow2 = tmp.resolve("v.qcow2");
    ok("volume", "export", "-D", ds(), "v@s", qcow2.toString(), "-O", "qcow2");
    List<String> io = new ArrayList<>(List.of("qemu-io", "-r", "-f", "qcow2"));
    io.addAll(qemuIoChecks());
    io.add(qcow2.toString());
    assertThat(run(io.toArray(String[]::new))).doesNotContain("Pattern verification failed");
    assertThat(run("qemu-img", "info", qcow2.toString())).contains("virtual size: 64 TiB");
    assertThat(Files.size(qcow2)).isLessThan(16L << 20);
    run("qemu-img", "check", qcow2.toString());

    // Formats that cannot hold 64 TiB say so in one line, naming the limit.
    CliRun vpc = CliRun.of("volume", "export", "-D", ds(), "v", tmp.resolve("v.vpc").toString(), "-O", "vpc");
    assertThat(vpc.exit()).isNotZero();
    assertThat(vpc.err().strip()).doesNotContain("\n").contains("exceeds the 2040 GiB limit");
    assertThat(tmp.resolve("v.vpc")).doesNotExist();
    // A raw file of 64 TiB is sparse where the file system allows it (not ext4: 16 TiB at most).
    Path raw = tmp.resolve("v.raw");
    CliRun toRaw = CliRun.of("image", "convert", qcow2.toString(), raw.toString());
    if (Files.getFileStore(tmp).type().equals("ext4")) {
      assertThat(toRaw.exit()).isNotZero();
      assertThat(toRaw.err().strip()).doesNotContain("\n").contains("cannot create raw image " + raw)
          .contains(SIZE + " bytes").contains("use a sparse format such as qcow2");
      assertThat(raw).doesNotExist();
    } else {
      assertThat(toRaw.exit()).as(toRaw.err()).isZero();
      assertThat(Files.size(raw)).isEqualTo(SIZE);
      List<String> rawIo = new ArrayList<>(List.of("qemu-io", "-r", "-f", "raw"));
      rawIo.addAll(qemuIoChecks());
      rawIo.add(raw.toString());
      assertThat(run(rawIo.toArray(String[]::new))).doesNotContain("Pattern verification failed");
    }
  }

  /** A running {@code vstore nbd serve} and the port it printed. */
  private record Server(Process process, int port) implements AutoCloseable {
    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  private Server serve(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Vstore.class.getName(),
        "nbd", "serve", "--port", "0"));
    cmd.addAll(List.of(args));
    Path err = tmp.resolve("serve.err");
    Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    for (String line; (line = out.readLine()) != null; ) {
      Matcher m = SERVING.matcher(line);
      if (m.find()) {
        return new Server(p, Integer.parseInt(m.group(2)));
      }
    }
    p.waitFor(10, TimeUnit.SECONDS);
    throw new AssertionError("vstore nbd serve exited before serving; stderr: " + Files.readString(err));
  }

  @Test
  void anNbdExportOf64TiBServesQemuIoAndNbdinfo() throws Exception {
    createWithThreeBlocks();
    try (Server s = serve("-D", ds(), "v")) {
      String uri = "nbd://127.0.0.1:" + s.port() + "/v";
      assertThat(run("nbdinfo", "--size", uri).strip()).isEqualTo(Long.toString(SIZE));
      List<String> io = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
      io.addAll(qemuIoChecks());
      io.addAll(List.of("-c", "write -P 0x5a " + (SIZE - 8192) + " 8k", "-c", "read -P 0x5a " + (SIZE - 8192) + " 8k",
          uri));
      assertThat(run(io.toArray(String[]::new))).doesNotContain("Pattern verification failed");
      // base:allocation over the whole export: holes and data where they are, ending at the last byte.
      String map = run("nbdinfo", "--map", "--totals", uri);
      assertThat(map).containsPattern("(?m)^\\s*16384\\s+[0-9.]+%\\s+0\\s+data$")
          .containsPattern("(?m)^\\s*" + (SIZE - 16384) + "\\s+[0-9.]+%\\s+3\\s+hole,zero$");
      String extents = run("nbdinfo", "--map", uri);
      assertThat(extents).containsPattern("(?m)^\\s*" + (SIZE - 8192) + "\\s+8192\\s+0\\s+data");
      assertThat(extents).containsPattern("(?m)^\\s*0\\s+4096\\s+0\\s+data");
    }
    Path tail = tmp.resolve("tail");
    ok("volume", "read", "-D", ds(), "v", Long.toString(SIZE - 8192), "8192", tail.toString());
    assertThat(Files.readAllBytes(tail)).containsOnly(0x5a);
    assertThat(ok("datastore", "check", "-D", ds()).out()).contains("no problems found");
  }
}
