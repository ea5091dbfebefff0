package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotRoutesTest {
  @TempDir Path tmp;

  private static void write(Datastore store, String volume, long offset, int length, byte value) throws Exception {
    byte[] bytes = new byte[length];
    Arrays.fill(bytes, value);
    try (Volume v = store.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(bytes));
      v.flush();
    }
  }

  private static byte read(Datastore store, String volume, long offset) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(1);
    try (Volume v = store.volume(volume, true)) {
      v.read(offset, b);
    }
    return b.get(0);
  }

  @Test
  void createsListsShowsRevertsAndDeletesSnapshots() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}");
      write(store, "vm1", 0, 65536, (byte) 1);

      TestDaemon.Reply created = d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"before\"}");
      assertThat(created.status()).isEqualTo(201);
      assertThat(created.json().get("volume").asText()).isEqualTo("vm1");
      assertThat(created.json().get("name").asText()).isEqualTo("before");
      assertThat(created.json().get("allocated").asLong()).isEqualTo(65536);
      assertThat(d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"before\"}").status()).isEqualTo(409);
      assertThat(d.unix("POST", "/api/v1/volumes/nope/snapshots", "{\"name\": \"x\"}").status()).isEqualTo(404);

      write(store, "vm1", 0, 65536, (byte) 2);
      d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"after\"}");
      JsonNode list = d.unix("GET", "/api/v1/volumes/vm1/snapshots", null).json();
      assertThat(list).extracting(n -> n.get("name").asText()).containsExactly("before", "after");
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/snapshots/after", null).json().get("changeId").asText())
          .isEqualTo(list.get(1).get("changeId").asText());
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/snapshots/nope", null).status()).isEqualTo(404);

      TestDaemon.Reply reverted = d.unix("POST", "/api/v1/volumes/vm1/snapshots/before/revert", null);
      assertThat(reverted.status()).isEqualTo(200);
      assertThat(reverted.json().get("name").asText()).isEqualTo("vm1");
      assertThat(read(store, "vm1", 100)).isEqualTo((byte) 1);

      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1/snapshots/after", null).status()).isEqualTo(204);
      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1/snapshots/after", null).status()).isEqualTo(404);
      assertThat(store.snapshots("vm1")).extracting(s -> s.name()).containsExactly("before");

      assertThat(d.daemon().events().recent(0)).extracting(Event::type).containsSubsequence("snapshot.created",
          "snapshot.created", "snapshot.reverted", "snapshot.deleted");
    }
  }

  @Test
  void listsTheSnapshotsOfEveryVolume() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      for (String v : new String[] {"b", "a", "c"}) {
        d.unix("POST", "/api/v1/volumes", "{\"name\": \"" + v + "\", \"size\": 4096}");
      }
      d.unix("POST", "/api/v1/volumes/b/snapshots", "{\"name\": \"s1\"}");
      d.unix("POST", "/api/v1/volumes/a/snapshots", "{\"name\": \"s2\"}");
      d.unix("POST", "/api/v1/volumes/b/snapshots", "{\"name\": \"s3\"}");
      JsonNode all = d.unix("GET", "/api/v1/snapshots", null).json();
      assertThat(all).extracting(n -> n.get("volume").asText() + "@" + n.get("name").asText())
          .containsExactly("a@s2", "b@s1", "b@s3");
    }
  }

  @Test
  void clonesASnapshotByNamesOrByNameAndCount() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"base\", \"size\": 65536}");
      write(store, "base", 0, 4096, (byte) 7);
      d.unix("POST", "/api/v1/volumes/base/snapshots", "{\"name\": \"gold\"}");

      TestDaemon.Reply named = d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones",
          "{\"names\": [\"web1\", \"web2\"]}");
      assertThat(named.status()).isEqualTo(201);
      assertThat(named.json()).extracting(n -> n.get("name").asText()).containsExactly("web1", "web2");
      assertThat(named.json().get(0).get("parent").asText()).isEqualTo("base@gold");
      assertThat(read(store, "web2", 0)).isEqualTo((byte) 7);

      TestDaemon.Reply counted = d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones",
          "{\"name\": \"desk\", \"count\": 3}");
      assertThat(counted.status()).isEqualTo(201);
      assertThat(counted.json()).extracting(n -> n.get("name").asText()).containsExactly("desk-1", "desk-2", "desk-3");
      assertThat(d.unix("GET", "/api/v1/volumes/base/snapshots/gold", null).json().get("clones"))
          .hasSize(5);
      Event event = d.daemon().events().recent(0).getLast();
      assertThat(event.type()).isEqualTo("clone.created");
      assertThat(event.data()).containsEntry("parent", "base@gold").containsEntry("count", 3);

      assertThat(d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones", "{\"names\": [\"web1\"]}").status())
          .isEqualTo(409);
      assertThat(d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones",
          "{\"names\": [\"x\", \"x\"]}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones",
          "{\"names\": [\"x\"], \"name\": \"y\"}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones",
          "{\"name\": \"y\", \"count\": -1}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/volumes/base/snapshots/nope/clones", "{\"name\": \"y\"}").status())
          .isEqualTo(404);
      assertThat(store.volumes()).hasSize(6);
    }
  }

  @Test
  void reportsChangedAreasSinceAChangeId() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}");
      write(store, "vm1", 0, 65536, (byte) 1);
      String since = d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s1\"}").json()
          .get("changeId").asText();
      write(store, "vm1", 524288, 65536, (byte) 2);

      TestDaemon.Reply changes = d.unix("GET", "/api/v1/volumes/vm1/changes?since=" + since, null);
      assertThat(changes.status()).isEqualTo(200);
      JsonNode extents = changes.json().get("extents");
      assertThat(extents).hasSize(1);
      assertThat(extents.get(0).get("offset").asLong()).isEqualTo(524288);
      assertThat(extents.get(0).get("length").asLong()).isEqualTo(65536);
      assertThat(changes.json().get("changeId").asText())
          .isEqualTo(d.unix("GET", "/api/v1/volumes/vm1", null).json().get("changeId").asText());

      JsonNode all = d.unix("GET", "/api/v1/volumes/vm1/changes?since=*&snapshot=s1", null).json();
      assertThat(all.get("extents")).hasSize(1);
      assertThat(all.get("extents").get(0).get("offset").asLong()).isZero();
      JsonNode window = d.unix("GET", "/api/v1/volumes/vm1/changes?since=*&offset=0&length=4096", null).json();
      assertThat(window.get("extents").get(0).get("length").asLong()).isEqualTo(4096);

      assertThat(d.unix("GET", "/api/v1/volumes/vm1/changes", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/changes?since=garbage", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/changes?since=*&offset=2000000", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/changes?since=*&snapshot=nope", null).status()).isEqualTo(404);
      assertThat(d.unix("GET", "/api/v1/volumes/nope/changes?since=*", null).status()).isEqualTo(404);
    }
  }

  @Test
  void pinsListsAndUnpinsChangeIds() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}");
      write(store, "vm1", 0, 4096, (byte) 1);
      String id = d.unix("GET", "/api/v1/volumes/vm1", null).json().get("changeId").asText();

      TestDaemon.Reply pinned = d.unix("POST", "/api/v1/pins", "{\"changeId\": \"" + id + "\", \"label\": \"nightly\"}");
      assertThat(pinned.status()).isEqualTo(201);
      assertThat(pinned.json().get("changeId").asText()).isEqualTo(id);
      assertThat(pinned.json().get("label").asText()).isEqualTo("nightly");
      for (int i = 0; i < 20; i++) { // more generations than the recent window: only the pin keeps the id
        write(store, "vm1", 65536, 4096, (byte) i);
      }
      JsonNode extents = d.unix("GET", "/api/v1/volumes/vm1/changes?since=" + id, null).json().get("extents");
      assertThat(extents).hasSize(1);
      assertThat(extents.get(0).get("offset").asLong()).isEqualTo(65536);
      assertThat(d.unix("GET", "/api/v1/pins?volume=vm1", null).json()).extracting(n -> n.get("label").asText())
          .containsExactly("nightly");
      assertThat(d.unix("GET", "/api/v1/pins?volume=nope", null).status()).isEqualTo(404);
      assertThat(d.unix("POST", "/api/v1/pins", "{\"changeId\": \"garbage\"}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/pins", "{}").status()).isEqualTo(400);

      TestDaemon.Reply gone = d.unix("DELETE", "/api/v1/pins?pin=nightly", null);
      assertThat(gone.status()).isEqualTo(200);
      assertThat(gone.json()).extracting(n -> n.get("changeId").asText()).containsExactly(id);
      assertThat(d.unix("DELETE", "/api/v1/pins?pin=nightly", null).status()).isEqualTo(404);
      assertThat(d.unix("DELETE", "/api/v1/pins", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/pins", null).json()).isEmpty();
      assertThat(d.unix("GET", "/api/v1/volumes/vm1/changes?since=" + id, null).status()).isEqualTo(400);
      assertThat(d.daemon().events().recent(0)).extracting(Event::type).containsSubsequence("pin.created",
          "pin.deleted");
    }
  }
}
