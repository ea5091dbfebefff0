package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.engine.Inventory;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InventoryRoutesTest {
  @TempDir Path tmp;

  @Test
  void createsShowsSnapshotsRevertsAndDeletesVms() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      TestDaemon.Reply created = d.unix("POST", "/api/v1/vms",
          "{\"name\": \"web\", \"disks\": [1048576, 2097152], \"config\": {\"cpus\": 2}}");
      assertThat(created.status()).isEqualTo(201);
      assertThat(created.json().get("disks")).extracting(JsonNode::asText).containsExactly("web-disk0", "web-disk1");
      assertThat(created.json().get("volumes").get(1).get("size").asLong()).isEqualTo(2097152);
      assertThat(created.json().get("config").get("cpus").asInt()).isEqualTo(2);
      assertThat(d.unix("POST", "/api/v1/vms", "{\"name\": \"web\", \"disks\": [512]}").status()).isEqualTo(409);
      assertThat(d.unix("POST", "/api/v1/vms", "{\"name\": \"bad\", \"disks\": [100]}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/vms", "{\"name\": \"bad\", \"disks\": [512], \"config\": [1]}").status())
          .isEqualTo(400);

      TestDaemon.Reply snap = d.unix("POST", "/api/v1/vms/web/snapshots",
          "{\"name\": \"s1\", \"description\": \"base\"}");
      assertThat(snap.status()).isEqualTo(201);
      assertThat(snap.json().get("parent").isNull()).isTrue();
      d.unix("POST", "/api/v1/vms/web/snapshots", "{\"name\": \"s2\"}");
      assertThat(d.unix("POST", "/api/v1/vms/web/snapshots", "{\"name\": \"s2\"}").status()).isEqualTo(409);
      JsonNode tree = d.unix("GET", "/api/v1/vms/web/snapshots", null).json();
      assertThat(tree).extracting(n -> n.get("name").asText()).containsExactly("s1", "s2");
      assertThat(tree.get(1).get("parent").asText()).isEqualTo("s1");
      assertThat(d.unix("GET", "/api/v1/volumes/web-disk1/snapshots", null).json()).hasSize(2);

      TestDaemon.Reply reverted = d.unix("POST", "/api/v1/vms/web/snapshots/s1/revert", null);
      assertThat(reverted.status()).isEqualTo(200);
      assertThat(reverted.json().get("current").asText()).isEqualTo("s1");
      assertThat(d.unix("POST", "/api/v1/vms/web/snapshots/nope/revert", null).status()).isEqualTo(404);

      // The VM owns its disks and their snapshots: the volume API refuses to delete them behind its back.
      assertThat(d.unix("DELETE", "/api/v1/volumes/web-disk0?recursive=true", null).status()).isEqualTo(409);
      assertThat(d.unix("DELETE", "/api/v1/volumes/web-disk0/snapshots/s1", null).status()).isEqualTo(409);

      assertThat(d.unix("DELETE", "/api/v1/vms/web/snapshots/s2", null).status()).isEqualTo(204);
      assertThat(d.unix("GET", "/api/v1/vms/web", null).json().get("snapshots")).hasSize(1);
      assertThat(d.unix("GET", "/api/v1/vms", null).json()).extracting(n -> n.get("name").asText())
          .containsExactly("web");

      assertThat(d.unix("DELETE", "/api/v1/vms/web", null).status()).isEqualTo(204);
      TestDaemon.Reply gone = d.unix("GET", "/api/v1/vms/web", null);
      assertThat(gone.status()).isEqualTo(404);
      assertThat(gone.json().get("detail").asText()).startsWith("no VM web");
      assertThat(d.daemon().byName(null).store().volumes()).isEmpty();
      assertThat(d.daemon().events().recent(0)).extracting(Event::type).containsSubsequence("vm.created",
          "vm.snapshot.created", "vm.snapshot.reverted", "vm.snapshot.deleted", "vm.deleted");
    }
  }

  @Test
  void showsPoolsWithTheirSpaceSavings() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      d.unix("POST", "/api/v1/vms", "{\"name\": \"gold\", \"disks\": [1048576]}");
      d.unix("POST", "/api/v1/vms/gold/snapshots", "{\"name\": \"v1\"}");
      Inventory inventory = d.daemon().byName(null).inventory();
      inventory.pools().create("eng", "gold", "v1", 3, 65536, 0);

      JsonNode pools = d.unix("GET", "/api/v1/pools", null).json();
      assertThat(pools).extracting(n -> n.get("name").asText()).containsExactly("eng");
      JsonNode pool = d.unix("GET", "/api/v1/pools/eng", null).json();
      assertThat(pool.get("base").asText()).isEqualTo("gold@v1");
      assertThat(pool.get("desktops")).hasSize(3);
      assertThat(pool.get("desktops").get(0).get("persistentDisk").isNull()).isFalse();
      assertThat(pool.get("space").get("desktops").asInt()).isEqualTo(3);
      assertThat(pool.get("space").get("provisioned").asLong()).isEqualTo(3 * (1048576L + 65536));
      assertThat(d.unix("GET", "/api/v1/pools/nope", null).status()).isEqualTo(404);

      JsonNode poolVolumes = d.unix("GET", "/api/v1/volumes?pool=eng", null).json();
      assertThat(poolVolumes).hasSize(pool.get("replica").size() + 3 * 2);
      assertThat(poolVolumes).extracting(n -> n.get("name").asText())
          .contains(pool.get("desktops").get(2).get("persistentDisk").asText())
          .doesNotContain("gold-disk0");
      assertThat(d.unix("GET", "/api/v1/volumes?vm=gold", null).json()).extracting(n -> n.get("name").asText())
          .containsExactly("gold-disk0");
      assertThat(d.unix("GET", "/api/v1/volumes?vm=nope", null).status()).isEqualTo(404);
      assertThat(d.unix("GET", "/api/v1/volumes?vm=gold&pool=eng", null).status()).isEqualTo(400);
      assertThat(d.unix("GET", "/api/v1/pools/bad%20name", null).status()).isEqualTo(400);

      // A pool is built from the VM's snapshot: neither goes while it exists.
      assertThat(d.unix("DELETE", "/api/v1/vms/gold/snapshots/v1", null).status()).isEqualTo(409);
      assertThat(d.unix("DELETE", "/api/v1/vms/gold", null).status()).isEqualTo(409);
    }
  }
}
