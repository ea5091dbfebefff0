package io.vstore.engine.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Replica records round-trip, and a flipped byte or a foreign file is refused naming the file. */
class ReplicaStoreTest {
  @TempDir Path dir;

  @Test
  void recordsRoundTripAndDamageIsRefused() throws Exception {
    ReplicaStore store = new ReplicaStore(dir);
    ReplicaRecord r = new ReplicaRecord(ReplicaRecord.FORMAT, ReplicaRecord.VERSION, "p1", ReplicaRecord.Role.PRIMARY,
        "vm", "/srv/b", "vm", 3, "ACTIVE", 1 << 20, "u/5", "v/7", "2026-12-07T00:00:00Z");
    store.write(r);
    assertThat(store.readAll()).containsExactly(r);
    Path file = dir.resolve("replicas/p1.json");
    String text = Files.readString(file);
    Files.writeString(file, text.replace("\"epoch\" : 3", "\"epoch\" : 4"));
    assertThatThrownBy(store::readAll).isInstanceOf(IOException.class).hasMessageStartingWith("bad replica record: ")
        .hasMessageContaining("p1.json").hasMessageContaining("checksum");
    Files.writeString(file, "{\"format\": \"something else\"}");
    assertThatThrownBy(store::readAll).isInstanceOf(IOException.class).hasMessageStartingWith("bad replica record: ");
    assertThatThrownBy(() -> ReplicaStore.checkId("../x")).isInstanceOf(IllegalArgumentException.class);
  }
}
