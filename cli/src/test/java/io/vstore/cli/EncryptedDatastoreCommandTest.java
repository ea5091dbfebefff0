package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code datastore init --encrypt}, the key options every datastore command takes, and {@code datastore key}. */
final class EncryptedDatastoreCommandTest {
  @TempDir Path tmp;

  private CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  @Test
  void anEncryptedDatastoreWorksWithItsPassphraseAndItsKeySlotsChange() throws IOException {
    String ds = tmp.resolve("ds").toString();
    String pass = Files.writeString(tmp.resolve("pass"), "first passphrase\n").toString();
    String pass2 = Files.writeString(tmp.resolve("pass2"), "second passphrase\n").toString();
    String wrong = Files.writeString(tmp.resolve("wrong"), "not it\n").toString();
    String escrow = tmp.resolve("escrow.key").toString();
    assertThat(ok("datastore", "init", "-D", ds, "--encrypt", "--passphrase-file", pass).out())
        .isEqualTo("created encrypted datastore " + ds + "\n");
    ok("volume", "create", "-D", ds, "vm1", "8M", "--passphrase-file", pass);
    byte[] data = new byte[3 << 20];
    new Random(1).nextBytes(data);
    Path in = Files.write(tmp.resolve("in.bin"), data);
    ok("volume", "write", "-D", ds, "vm1", "1M", in.toString(), "--passphrase-file", pass);

    CliRun none = CliRun.of("volume", "list", "-D", ds);
    assertThat(none.exit()).isEqualTo(1);
    assertThat(none.err()).isEqualTo("vstore: datastore " + ds + " is encrypted: give --passphrase-file FILE or "
        + "--key-file FILE (or set VSTORE_PASSPHRASE_FILE or VSTORE_KEY_FILE)\n");
    CliRun bad = CliRun.of("volume", "list", "-D", ds, "--passphrase-file", wrong);
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(bad.err()).isEqualTo("vstore: wrong passphrase for datastore " + ds + " (" + wrong + ")\n");

    ok("datastore", "key", "add", "-D", ds, "--passphrase-file", pass, "escrow", "--new-key-file", escrow);
    assertThat(Files.readString(Path.of(escrow)).strip()).hasSize(64);
    ok("datastore", "key", "passwd", "-D", ds, "--passphrase-file", pass, "--new-passphrase-file", pass2);
    JsonNode slots = ok("datastore", "key", "list", "-D", ds, "--key-file", escrow, "--json").json();
    assertThat(slots).hasSize(2);
    assertThat(slots.get(0).get("label").asText()).isEqualTo("passphrase");
    assertThat(slots.get(0).get("kind").asText()).isEqualTo("passphrase");
    assertThat(slots.get(0).get("argon2MemoryKiB").asInt()).isEqualTo(32768);
    assertThat(slots.get(1).get("label").asText()).isEqualTo("escrow");
    assertThat(slots.get(1).get("kind").asText()).isEqualTo("key-file");
    assertThat(slots.get(1).get("unlockedWith").asBoolean()).isTrue();
    assertThat(CliRun.of("volume", "list", "-D", ds, "--passphrase-file", pass).err()).startsWith("vstore: wrong passphrase");

    Path back = tmp.resolve("back.bin");
    ok("volume", "read", "-D", ds, "vm1", "1M", String.valueOf(data.length), back.toString(), "--passphrase-file", pass2);
    assertThat(Files.readAllBytes(back)).isEqualTo(data);
    assertThat(ok("datastore", "check", "-D", ds, "--key-file", escrow).out()).contains("no problems found");

    ok("datastore", "key", "remove", "-D", ds, "--passphrase-file", pass2, "escrow");
    assertThat(CliRun.of("volume", "list", "-D", ds, "--key-file", escrow).err())
        .isEqualTo("vstore: datastore " + ds + " has no key-file key slot: give --passphrase-file instead\n");
    CliRun last = CliRun.of("datastore", "key", "remove", "-D", ds, "--passphrase-file", pass2, "passphrase");
    assertThat(last.exit()).isEqualTo(1);
    assertThat(last.err()).contains("is the last one");
  }

  @Test
  void initWithAKeyFileCreatesTheFileAndWithoutAKeyIsRefused() throws IOException {
    String ds = tmp.resolve("ds").toString();
    Path key = tmp.resolve("k");
    ok("datastore", "init", "-D", ds, "--encrypt", "--key-file", key.toString());
    assertThat(Files.exists(key)).isTrue();
    ok("volume", "create", "-D", ds, "v", "1M", "--key-file", key.toString());
    CliRun refused = CliRun.of("datastore", "init", "-D", tmp.resolve("ds2").toString(), "--encrypt");
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.err()).contains("datastore init --encrypt needs --passphrase-file FILE or --key-file FILE");
    CliRun notEncrypted = CliRun.of("datastore", "init", "-D", tmp.resolve("plain").toString());
    assertThat(notEncrypted.exit()).isZero();
    assertThat(CliRun.of("datastore", "key", "list", "-D", tmp.resolve("plain").toString()).err())
        .isEqualTo("vstore: datastore " + tmp.resolve("plain") + " is not encrypted\n");
  }
}
