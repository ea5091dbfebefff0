package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pins every command's human and {@code --json} output byte for byte against a transcript taken
 * from the code before the output mixin, so that refactoring the printing cannot change it.
 * Values that differ between runs or machines (the temporary directory, UUIDs and the change
 * ids made of them, times, an image file's space on disk) and a format's own details are replaced
 * by placeholders. To regenerate after an intended change, run with
 * {@code -Dvstore.pin.update=PATH} and review the diff of the file written to PATH.
 */
final class OutputPinTest {
  private static final String TRANSCRIPT = "output-pin.txt";

  @TempDir Path tmp;

  private String vstore(StringBuilder transcript, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Vstore.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    transcript.append("$ vstore ").append(String.join(" ", args)).append("  # exit ").append(exit).append('\n')
        .append(out).append(err.toString().isEmpty() ? "" : "stderr: " + err).append('\n');
    return out.toString();
  }

  private String normalize(String s) {
    return s.replace(tmp.toString(), "<TMP>")
        .replaceAll("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>")
        .replaceAll("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z", "<TIME>")
        // An image file's space on disk depends on the file system it lies on.
        .replaceAll("disk size: .*", "disk size: <ALLOCATED>")
        .replaceAll("metadata cache: .*", "metadata cache: <PAGES IN MEMORY>")
        .replaceAll("\"metadataCache\" : \\{[^}]*}", "\"metadataCache\" : <PAGES IN MEMORY>")
        .replaceAll("\"allocatedSize\" : \\d+", "\"allocatedSize\" : <ALLOCATED>")
        // What a format reports about itself belongs to the format (and its tests), not to the CLI.
        .replaceAll("Format specific information:\n(    .*\n)*", "Format specific information:\n    <DETAILS>\n")
        .replaceAll("\"details\" : \\{[^}]*}", "\"details\" : <DETAILS>");
  }

  @Test
  void everyCommandPrintsWhatItPrintedBefore() throws Exception {
    String ds = tmp.resolve("ds").toString();
    StringBuilder t = new StringBuilder();
    vstore(t, "datastore", "init", "-D", ds, "--capacity", "4G");
    vstore(t, "volume", "create", "-D", ds, "vm", "16M");
    byte[] data = new byte[300_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 7 + i / 4096);
    }
    Path in = Files.write(tmp.resolve("in.bin"), data);
    vstore(t, "volume", "write", "-D", ds, "vm", "1M", in.toString());
    for (String json : new String[] {"", "--json"}) {
      List<String[]> commands = List.of(
          new String[] {"datastore", "info"}, new String[] {"datastore", "check"},
          new String[] {"datastore", "clean"}, new String[] {"volume", "list"}, new String[] {"volume", "info", "vm"},
          new String[] {"snapshot", "create", "vm@s" + json.length()}, new String[] {"snapshot", "list", "vm"},
          new String[] {"cbt", "changes", "vm", "--since", "*"});
      for (String[] c : commands) {
        String[] args = new String[c.length + (json.isEmpty() ? 2 : 3)];
        System.arraycopy(c, 0, args, 0, c.length);
        args[c.length] = "-D";
        args[c.length + 1] = ds;
        if (!json.isEmpty()) {
          args[c.length + 2] = json;
        }
        vstore(t, args);
      }
    }
    Path cfg = Files.writeString(tmp.resolve("vm.json"), "{\"cpus\": 2}");
    vstore(t, "vm", "create", "-D", ds, "gold", "--disk", "8M", "--disk", "4M", "--config", cfg.toString());
    vstore(t, "vm", "snapshot", "create", "-D", ds, "gold@v1", "-m", "first");
    vstore(t, "vm", "snapshot", "create", "-D", ds, "gold@v2");
    vstore(t, "pool", "create", "-D", ds, "lab", "--from", "gold@v1", "--count", "2", "--persistent-disk", "1M");
    for (String json : new String[] {"", "--json"}) {
      for (String[] c : List.of(new String[] {"vm", "list"}, new String[] {"vm", "info", "gold"},
          new String[] {"vm", "snapshot", "list", "gold"}, new String[] {"pool", "list"},
          new String[] {"pool", "info", "lab"})) {
        String[] args = java.util.Arrays.copyOf(c, c.length + (json.isEmpty() ? 2 : 3));
        args[c.length] = "-D";
        args[c.length + 1] = ds;
        if (!json.isEmpty()) {
          args[c.length + 2] = json;
        }
        vstore(t, args);
      }
    }
    String a = tmp.resolve("a.qcow2").toString();
    String b = tmp.resolve("b.qcow2").toString();
    vstore(t, "image", "create", "-f", "qcow2", a, "4M");
    vstore(t, "volume", "export", "-D", ds, "vm", tmp.resolve("vm.qcow2").toString(), "-O", "qcow2");
    vstore(t, "image", "create", "-f", "qcow2", "-b", tmp.resolve("vm.qcow2").toString(), "-F", "qcow2", b);
    for (String json : new String[] {"", "--json"}) {
      for (String[] c : List.of(new String[] {"image", "info", b}, new String[] {"image", "info", "--backing-chain", b},
          new String[] {"image", "check", a}, new String[] {"image", "map", b})) {
        String[] args = java.util.Arrays.copyOf(c, c.length + (json.isEmpty() ? 0 : 1));
        if (!json.isEmpty()) {
          args[c.length] = json;
        }
        vstore(t, args);
      }
    }
    String actual = normalize(t.toString());
    String update = System.getProperty("vstore.pin.update");
    if (update != null) {
      Files.writeString(Path.of(update), actual);
    }
    assertThat(actual).isEqualTo(expected());
  }

  private static String expected() throws IOException {
    try (InputStream in = OutputPinTest.class.getResourceAsStream(TRANSCRIPT)) {
      assertThat(in).as("test resource %s", TRANSCRIPT).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
