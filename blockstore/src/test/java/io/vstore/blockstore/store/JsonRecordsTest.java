package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.testing.ModelRun;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The block store's JSON objects read and written field by field: the same bytes as the object
 * mapper wrote before (so existing datastores open and their entries compare equal), every record
 * back as it was, unknown fields skipped, wrong kinds of values refused.
 */
final class JsonRecordsTest {
  private static final ObjectMapper TREE = new ObjectMapper();

  @Test
  void writesWhatTheObjectMapperWrote() {
    VolumeRecord v = new VolumeRecord(7, "vm1", "u-1", 1 << 30, "2026-12-07T12:00:00Z", 42, 8192, 2, 3, 4, 0, null);
    assertThat(text(v.encode())).isEqualTo("{\"id\":7,\"name\":\"vm1\",\"uuid\":\"u-1\",\"size\":1073741824,"
        + "\"created\":\"2026-12-07T12:00:00Z\",\"generation\":42,\"allocated\":8192,\"mappedBlocks\":2,"
        + "\"parentVolume\":3,\"parentSnapshot\":4,\"baseMap\":0}");
    VolumeRecord moving = new VolumeRecord(8, "a\"b", "u", 4096, null, 1, 0, 0, 0, 0, 0,
        new VolumeRecord.Incoming("ds-2", "src", null, 5, true, "t0"));
    assertThat(text(moving.encode())).isEqualTo("{\"id\":8,\"name\":\"a\\\"b\",\"uuid\":\"u\",\"size\":4096,"
        + "\"created\":null,\"generation\":1,\"allocated\":0,\"mappedBlocks\":0,\"parentVolume\":0,"
        + "\"parentSnapshot\":0,\"baseMap\":0,\"incoming\":{\"sourceDatastore\":\"ds-2\",\"sourceName\":\"src\","
        + "\"claim\":null,\"birth\":5,\"copyingHead\":true,\"started\":\"t0\"}}");
    assertThat(text(new SnapshotRecord(9, 7, "gold", 41, "t1").encode()))
        .isEqualTo("{\"id\":9,\"volume\":7,\"name\":\"gold\",\"generation\":41,\"created\":\"t1\"}");
    UUID id = UUID.fromString("960ad0e6-4f4e-4783-92d1-4f54947ab5fe");
    assertThat(text(new DatastoreDescriptor("vstore-datastore", 1, id, "t2", 0, 75, 90, null).encode())).isEqualTo("""
        {
          "format" : "vstore-datastore",
          "version" : 1,
          "uuid" : "960ad0e6-4f4e-4783-92d1-4f54947ab5fe",
          "created" : "t2",
          "capacity" : 0,
          "warningPercent" : 75,
          "criticalPercent" : 90
        }""");
  }

  @Test
  void randomRecordsComeBackAsTheyWere() {
    ModelRun.seeds(20).forEach(seed -> ModelRun.run(seed, run -> {
      Random r = run.random();
      for (int i = 0; i < 200; i++) {
        run.step(i, "encode and decode");
        VolumeRecord.Incoming in = r.nextBoolean() ? null
            : new VolumeRecord.Incoming(word(r), word(r), word(r), r.nextLong(), r.nextBoolean(), word(r));
        VolumeRecord v = new VolumeRecord(r.nextLong(), word(r), word(r), r.nextLong(), word(r), r.nextLong(),
            r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), in);
        assertThat(VolumeRecord.decode(v.encode())).isEqualTo(v);
        assertThat(VolumeRecord.decode(reordered(v.encode()))).isEqualTo(v);
        SnapshotRecord s = new SnapshotRecord(r.nextLong(), r.nextLong(), word(r), r.nextLong(), word(r));
        assertThat(SnapshotRecord.decode(s.encode())).isEqualTo(s);
        DatastoreDescriptor d = new DatastoreDescriptor(word(r), r.nextInt(), new UUID(r.nextLong(), r.nextLong()),
            word(r), r.nextLong(), r.nextInt(), r.nextInt(), r.nextBoolean() ? null : word(r));
        assertThat(DatastoreDescriptor.decode(d.encode())).isEqualTo(d);
      }
    }));
  }

  @Test
  void skipsUnknownFieldsAndReadsAbsentOnesAsEmpty() throws Exception {
    byte[] json = ("{\"future\":{\"a\":[1,{\"b\":null}]},\"id\":3,\"name\":\"v\",\"incoming\":null,"
        + "\"later\":[\"x\"],\"size\":512}").getBytes(StandardCharsets.UTF_8);
    assertThat(VolumeRecord.decode(json)).isEqualTo(new VolumeRecord(3, "v", null, 512, null, 0, 0, 0, 0, 0, 0, null));
    assertThat(SnapshotRecord.decode("{}".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(new SnapshotRecord(0, 0, null, 0, null));
  }

  @Test
  void refusesValuesOfTheWrongKind() {
    for (String bad : new String[] {"[]", "{\"id\":\"3\"}", "{\"name\":5}", "{\"id\":1.5}", "{\"id\":3",
        "{\"incoming\":[]}", "{\"incoming\":{\"copyingHead\":\"yes\"}}", "{\"id\":99999999999999999999}", ""}) {
      assertThatThrownBy(() -> VolumeRecord.decode(bad.getBytes(StandardCharsets.UTF_8))).as(bad)
          .isInstanceOf(JacksonException.class);
    }
    assertThatThrownBy(() -> DatastoreDescriptor.decode("{\"version\":4294967296}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(JacksonException.class);
    assertThatThrownBy(() -> DatastoreDescriptor.decode("{\"uuid\":\"not-a-uuid\"}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Returns {@code json} with its top-level fields in reverse order, as another writer might put them. */
  private static byte[] reordered(byte[] json) throws Exception {
    JsonNode node = TREE.readTree(json);
    java.util.List<String> names = new java.util.ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    com.fasterxml.jackson.databind.node.ObjectNode out = TREE.createObjectNode();
    for (int i = names.size() - 1; i >= 0; i--) {
      out.set(names.get(i), node.get(names.get(i)));
    }
    return TREE.writeValueAsBytes(out);
  }

  private static String word(Random r) {
    if (r.nextInt(10) == 0) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    for (int i = r.nextInt(12); i > 0; i--) {
      int kind = r.nextInt(10);
      b.append(kind == 0 ? (char) r.nextInt(0x20) : kind == 1 ? '"' : kind == 2 ? '\u00e9' : kind == 3 ? '\\'
          : (char) ('a' + r.nextInt(26)));
    }
    return b.toString();
  }

  private static String text(byte[] json) {
    return new String(json, StandardCharsets.UTF_8);
  }
}
