package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeRoutesTest {
  @TempDir Path tmp;

  @Test
  void createsShowsListsAndDeletesAVolume() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      TestDaemon.Reply created = d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 1048576}");
      assertThat(created.status()).isEqualTo(201);
      assertThat(created.json().get("name").asText()).isEqualTo("vm1");
      assertThat(created.json().get("size").asLong()).isEqualTo(1 << 20);
      assertThat(created.json().get("changeId").asText()).startsWith(created.json().get("uuid").asText() + "/");

      TestDaemon.Reply shown = d.tcp("GET", "/api/v1/volumes/vm1", null, d.adminToken());
      assertThat(shown.status()).isEqualTo(200);
      assertThat(shown.json().get("snapshots").asInt()).isZero();
      assertThat(shown.json().get("parent").isNull()).isTrue();

      d.unix("POST", "/api/v1/volumes", "{\"name\": \"a0\", \"size\": 512}");
      JsonNode list = d.unix("GET", "/api/v1/volumes", null).json();
      assertThat(list).extracting(n -> n.get("name").asText()).containsExactly("a0", "vm1");

      assertThat(d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 512}").status()).isEqualTo(409);
      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1", null).status()).isEqualTo(204);
      TestDaemon.Reply gone = d.unix("GET", "/api/v1/volumes/vm1", null);
      assertThat(gone.status()).isEqualTo(404);
      assertThat(gone.json().get("detail").asText()).startsWith("no volume vm1");
      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1", null).status()).isEqualTo(404);

      assertThat(d.daemon().events().recent(0)).extracting(Event::type)
          .containsSubsequence("volume.created", "volume.created", "volume.deleted");
      Event deleted = d.daemon().events().recent(0).getLast();
      assertThat(deleted.datastore()).isEqualTo("ds");
      assertThat(deleted.data()).containsEntry("volume", "vm1");
    }
  }

  @Test
  void pagesThroughVolumesWithLimitAndAfter() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      List<String> names = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        String name = String.format("v%03d", i);
        store.createVolume(name, 4096).close();
        names.add(name);
      }
      List<String> seen = new ArrayList<>();
      String next = "/api/v1/volumes?limit=100";
      int pages = 0;
      while (next != null) {
        var r = d.client().newRequest("http://localhost" + next)
            .transport(new org.eclipse.jetty.io.Transport.TCPUnix(tmp.resolve("ds").resolve("vstore.sock"))).send();
        assertThat(r.getStatus()).isEqualTo(200);
        for (JsonNode v : io.vstore.server.http.Exchange.JSON.readTree(r.getContentAsString())) {
          seen.add(v.get("name").asText());
        }
        String link = r.getHeaders().get("Link");
        next = link == null ? null : link.substring(1, link.indexOf('>'));
        pages++;
      }
      assertThat(pages).isEqualTo(3);
      assertThat(seen).isEqualTo(names);
      JsonNode afterPage = d.unix("GET", "/api/v1/volumes?after=v295", null).json();
      assertThat(afterPage).extracting(n -> n.get("name").asText()).containsExactly("v296", "v297", "v298", "v299");
      // The whole list is larger than the buffer a list is streamed through.
      TestDaemon.Reply all = d.unix("GET", "/api/v1/volumes", null);
      assertThat(all.body().length()).isGreaterThan(64 << 10);
      assertThat(all.json()).extracting(n -> n.get("name").asText()).isEqualTo(names);
      assertThat(d.unix("GET", "/api/v1/volumes?limit=0", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/volumes?limit=ten", null).status()).isEqualTo(400);
    }
  }

  @Test
  void refusesToDeleteAVolumeWithSnapshotsUnlessRecursive() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"vm1\", \"size\": 65536}");
      d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s1\"}");
      d.unix("POST", "/api/v1/volumes/vm1/snapshots", "{\"name\": \"s2\"}");

      TestDaemon.Reply refused = d.unix("DELETE", "/api/v1/volumes/vm1", null);
      assertThat(refused.status()).isEqualTo(409);
      assertThat(refused.json().get("detail").asText()).contains("vm1@s1, vm1@s2").contains("recursively");
      assertThat(d.daemon().byName(null).store().snapshots("vm1")).hasSize(2);

      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1?recursive=maybe", null).status()).isEqualTo(400);
      assertThat(d.unix("DELETE", "/api/v1/volumes/vm1?recursive=true", null).status()).isEqualTo(204);
      assertThat(d.daemon().byName(null).store().hasVolume("vm1")).isFalse();
      assertThat(d.daemon().events().recent(0)).extracting(Event::type)
          .endsWith("snapshot.deleted", "snapshot.deleted", "volume.deleted");
    }
  }

  @Test
  void flattensALinkedClone() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      d.unix("POST", "/api/v1/volumes", "{\"name\": \"base\", \"size\": 65536}");
      d.unix("POST", "/api/v1/volumes/base/snapshots", "{\"name\": \"gold\"}");
      d.unix("POST", "/api/v1/volumes/base/snapshots/gold/clones", "{\"name\": \"c1\"}");
      assertThat(d.unix("GET", "/api/v1/volumes/c1", null).json().get("parent").asText()).isEqualTo("base@gold");

      TestDaemon.Reply flat = d.unix("POST", "/api/v1/volumes/c1/flatten", null);
      assertThat(flat.status()).isEqualTo(202);
      assertThat(flat.json().get("kind").asText()).isEqualTo("flatten");
      String job = flat.json().get("id").asText();
      TestDaemon.Reply done = d.unix("GET", "/api/v1/jobs/" + job + "/wait?timeout=60", null);
      assertThat(done.json().get("state").asText()).isEqualTo("succeeded");
      assertThat(done.json().get("result").get("parent").isNull()).isTrue();
      assertThat(d.unix("GET", "/api/v1/volumes/c1", null).json().get("parent").isNull()).isTrue();
      assertThat(d.unix("POST", "/api/v1/volumes/c1/flatten", null).status()).isEqualTo(409);
      assertThat(d.unix("POST", "/api/v1/volumes/nope/flatten", null).status()).isEqualTo(404);
      assertThat(d.daemon().events().recent(0)).extracting(io.vstore.server.Event::type).contains("volume.flattened");
    }
  }

  @Test
  void addressesTheDatastoreNamedInTheQuery() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("one"), tmp.resolve("two"))) {
      assertThat(d.unix("POST", "/api/v1/volumes?datastore=two", "{\"name\": \"v\", \"size\": 512}").status())
          .isEqualTo(201);
      assertThat(d.daemon().byName("two").store().hasVolume("v")).isTrue();
      assertThat(d.daemon().byName("one").store().hasVolume("v")).isFalse();
      assertThat(d.unix("GET", "/api/v1/volumes", null).json()).isEmpty();
      assertThat(d.unix("GET", "/api/v1/volumes?datastore=two", null).json()).hasSize(1);
      TestDaemon.Reply unknown = d.unix("GET", "/api/v1/volumes?datastore=three", null);
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.json().get("detail").asText()).contains("no datastore three");
    }
  }
}
