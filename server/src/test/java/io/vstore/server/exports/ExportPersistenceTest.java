package io.vstore.server.exports;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exports survive a daemon restart; those whose volume went away are reported and dropped. */
class ExportPersistenceTest {
  @TempDir Path tmp;

  @Test
  void exportsAreAddedAgainWhenTheDaemonRestarts() throws Exception {
    Path ds = tmp.resolve("ds");
    String since;
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      var store = d.daemon().all().getFirst().store();
      for (String name : new String[] {"vm1", "vm2"}) {
        try (Volume v = store.createVolume(name, 16L << 20)) {
          v.flush();
        }
      }
      since = store.createSnapshot("vm1", "base").changeId();
      assertThat(d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm1\", \"name\": \"disk\", \"readOnly\": true,"
          + " \"dirtyBitmaps\": [\"" + since + "\"]}").status()).isEqualTo(201);
      assertThat(d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm1@base\"}").status()).isEqualTo(201);
      assertThat(d.unix("POST", "/api/v1/exports", "{\"spec\": \"vm2\"}").status()).isEqualTo(201);
      String uri = d.unix("GET", "/api/v1/exports/vm2", null).json().get("uri").asText();
      Peers.run("qemu-io", "-f", "raw", "-c", "write -P 0x33 0 1M", uri);
    }
    assertThat(Files.readString(ds.resolve(ExportStore.FILE))).contains("\"disk\"", "vm1@base", since);

    try (TestDaemon d = TestDaemon.start(null, ds)) {
      JsonNode list = d.unix("GET", "/api/v1/exports", null).json();
      assertThat(list).extracting(e -> e.get("name").asText()).containsExactly("disk", "vm1@base", "vm2");
      JsonNode disk = list.get(0);
      assertThat(disk.get("readOnly").asBoolean()).isTrue();
      assertThat(disk.get("dirtyBitmaps").get(0).asText()).isEqualTo(since);
      // Served again, with the data written before the restart and the bitmap context.
      Peers.run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0x33 0 1M", list.get(2).get("uri").asText());
      assertThat(Peers.run("nbdinfo", "--map=qemu:dirty-bitmap:" + since, disk.get("uri").asText())).contains("clean");
      assertThat(Peers.run("nbdinfo", disk.get("uri").asText())).contains("is_read_only: true");

      // Removal is saved too.
      assertThat(d.unix("DELETE", "/api/v1/exports/vm1@base", null).status()).isEqualTo(204);
      // And the volume behind "vm2" goes away while the daemon is down.
      assertThat(d.unix("DELETE", "/api/v1/exports/vm2", null).status()).isEqualTo(204);
      d.daemon().all().getFirst().store().deleteVolume("vm2");
    }
    // Put vm2's export back into the file behind the daemon's back, as if the volume went later.
    var saved = new java.util.ArrayList<>(ExportStore.load(ds));
    saved.add(new ExportStore.Saved("vm2", "vm2", false, java.util.List.of()));
    ExportStore.save(ds, saved);

    try (TestDaemon d = TestDaemon.start(null, ds)) {
      JsonNode list = d.unix("GET", "/api/v1/exports", null).json();
      assertThat(list).extracting(e -> e.get("name").asText()).containsExactly("disk");
      Event skipped = d.daemon().events().recent(0).stream().filter(e -> e.type().equals("export.skipped"))
          .findFirst().orElseThrow();
      assertThat(skipped.datastore()).isEqualTo("ds");
      assertThat(skipped.data()).containsEntry("name", "vm2");
      assertThat((String) skipped.data().get("reason")).contains("vm2");
      // Dropped from the file, so the next start is quiet.
      assertThat(ExportStore.load(ds)).extracting(ExportStore.Saved::name).containsExactly("disk");
    }
  }

  @Test
  void aCorruptExportsFileStopsTheDaemonWithItsName() throws Exception {
    Path ds = tmp.resolve("ds");
    try (TestDaemon d = TestDaemon.start(null, ds)) {
      assertThat(d.daemon().exports().list()).isEmpty();
    }
    Files.writeString(ds.resolve(ExportStore.FILE), "{\"version\": 1, \"exports\": [");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TestDaemon.start(null, ds))
        .hasMessageStartingWith("bad exports.json: " + ds.resolve(ExportStore.FILE));
    Files.writeString(ds.resolve(ExportStore.FILE), "{\"version\": 9, \"exports\": []}");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TestDaemon.start(null, ds))
        .hasMessageContaining("version 9 (supported 1)");
  }
}
