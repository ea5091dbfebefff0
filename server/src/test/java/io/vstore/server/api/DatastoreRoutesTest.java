package io.vstore.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.Event;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatastoreRoutesTest {
  @TempDir Path tmp;

  @Test
  void listsAndShowsTheOwnedDatastores() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("one"), tmp.resolve("two"))) {
      d.unix("POST", "/api/v1/volumes?datastore=two", "{\"name\": \"v\", \"size\": 1048576}");
      JsonNode list = d.unix("GET", "/api/v1/datastores", null).json();
      assertThat(list).extracting(n -> n.get("name").asText()).containsExactly("one", "two");
      JsonNode two = d.tcp("GET", "/api/v1/datastores/two", null, d.adminToken()).json();
      assertThat(two.get("path").asText()).isEqualTo(tmp.resolve("two").toString());
      assertThat(two.get("volumes").asInt()).isEqualTo(1);
      assertThat(two.get("provisioned").asLong()).isEqualTo(1 << 20);
      assertThat(two.get("capacity").asLong()).isEqualTo(64L << 30);
      assertThat(two.get("configuredCapacity").asLong()).isEqualTo(64L << 30);
      assertThat(two.get("warningPercent").asInt()).isEqualTo(75);
      assertThat(two.get("criticalPercent").asInt()).isEqualTo(90);
      assertThat(two.get("alarmLevel").asText()).isEqualTo("NONE");
      assertThat(two.get("alarms")).isEmpty();
      assertThat(d.unix("GET", "/api/v1/datastores/three", null).status()).isEqualTo(404);
    }
  }

  @Test
  void changesCapacityAndThresholdsAndReportsTheAlarmsTheyRaise() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      Datastore store = d.daemon().byName(null).store();
      store.createVolume("v", 4 << 20).close();
      byte[] data = new byte[2 << 20];
      ThreadLocalRandom.current().nextBytes(data); // incompressible: it occupies what it says
      try (Volume v = store.volume("v")) {
        v.write(0, ByteBuffer.wrap(data));
        v.flush();
      }
      long used = store.info().used();
      assertThat(used).isPositive();

      // Usage at 60% of the new capacity: a warning at 50%, not critical at 90%.
      long capacity = used * 100 / 60;
      TestDaemon.Reply patched = d.unix("PATCH", "/api/v1/datastores/ds",
          "{\"capacity\": " + capacity + ", \"warningPercent\": 50}");
      assertThat(patched.status()).isEqualTo(200);
      assertThat(patched.json().get("configuredCapacity").asLong()).isEqualTo(capacity);
      assertThat(patched.json().get("warningPercent").asInt()).isEqualTo(50);
      assertThat(patched.json().get("criticalPercent").asInt()).isEqualTo(90);
      assertThat(patched.json().get("alarmLevel").asText()).isEqualTo("WARNING");

      JsonNode alarms = d.unix("GET", "/api/v1/alarms", null).json();
      assertThat(alarms).hasSize(1);
      assertThat(alarms.get(0).get("datastore").asText()).isEqualTo("ds");
      assertThat(alarms.get(0).get("level").asText()).isEqualTo("WARNING");
      assertThat(alarms.get(0).get("message").asText()).contains("warning threshold of 50%");

      // Only the critical threshold changes; the capacity set above stays.
      JsonNode critical = d.unix("PATCH", "/api/v1/datastores/ds", "{\"criticalPercent\": 55}").json();
      assertThat(critical.get("configuredCapacity").asLong()).isEqualTo(capacity);
      assertThat(critical.get("alarmLevel").asText()).isEqualTo("CRITICAL");
      assertThat(d.unix("GET", "/api/v1/alarms?datastore=ds", null).json().get(0).get("level").asText())
          .isEqualTo("CRITICAL");
      assertThat(d.daemon().events().recent(0)).extracting(Event::type).contains("datastore.changed");

      JsonNode cleared = d.unix("PATCH", "/api/v1/datastores/ds", "{\"capacity\": 0, \"warningPercent\": 75, "
          + "\"criticalPercent\": 90}").json();
      assertThat(cleared.get("configuredCapacity").asLong()).isZero();
      assertThat(cleared.get("capacity").asLong()).isGreaterThan(used);
      assertThat(d.unix("GET", "/api/v1/alarms", null).json()).isEmpty();
    }
  }

  @Test
  void refusesBadSettingsAndTokensBelowAdmin() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      String before = d.unix("GET", "/api/v1/datastores/ds", null).body();
      TestDaemon.Reply inverted = d.unix("PATCH", "/api/v1/datastores/ds", "{\"warningPercent\": 95}");
      assertThat(inverted.status()).isEqualTo(400);
      assertThat(inverted.json().get("detail").asText()).contains("need 0 < warning < critical <= 100");
      assertThat(d.unix("PATCH", "/api/v1/datastores/ds", "{}").status()).isEqualTo(400);
      assertThat(d.unix("PATCH", "/api/v1/datastores/ds", "{\"capacity\": \"big\"}").status()).isEqualTo(400);
      assertThat(d.unix("PATCH", "/api/v1/datastores/ds", "{\"capacity\": -1}").status()).isEqualTo(400);
      assertThat(d.unix("PATCH", "/api/v1/datastores/ds", "{\"size\": 1}").status()).isEqualTo(400);
      String writer = d.daemon().tokens().create("writer", Scope.WRITE).secret();
      assertThat(d.tcp("PATCH", "/api/v1/datastores/ds", "{\"criticalPercent\": 95}", writer).status())
          .isEqualTo(403);
      assertThat(d.unix("PATCH", "/api/v1/datastores/nope", "{\"criticalPercent\": 95}").status()).isEqualTo(404);
      assertThat(d.unix("GET", "/api/v1/datastores/ds", null).body())
          .isEqualTo(before);
    }
  }
}
