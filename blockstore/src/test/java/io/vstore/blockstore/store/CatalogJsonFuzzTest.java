package io.vstore.blockstore.store;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JacksonException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * Feeds the block store's JSON readers (datastore descriptor, volume and snapshot entries) bytes:
 * a valid object patched by the fuzzer, or anything. Reading either gives a record that writes and
 * reads back equal, or fails with a JSON error (a malformed uuid: an IllegalArgumentException);
 * never another exception.
 */
class CatalogJsonFuzzTest {
  private static final byte[][] BASES = {
      new VolumeRecord(7, "vm1", "u", 4096, "t", 3, 4096, 1, 2, 3, 4,
          new VolumeRecord.Incoming("d", "s", null, 5, true, "t0")).encode(),
      new SnapshotRecord(9, 7, "gold", 2, "t").encode(),
      new DatastoreDescriptor("vstore-datastore", 2, new UUID(1, 2), "t", 0, 75, 90, "aes-256-gcm").encode()};

  @FuzzTest(maxDuration = "20s")
  void anyBytesAreARecordOrAJsonError(FuzzedDataProvider data) throws Exception {
    int kind = data.consumeInt(0, 2);
    byte[] bytes;
    if (data.consumeBoolean()) {
      bytes = BASES[kind].clone();
      for (int i = data.consumeInt(0, 6); i > 0; i--) {
        bytes[data.consumeInt(0, bytes.length - 1)] = data.consumeByte();
      }
    } else {
      bytes = data.consumeRemainingAsBytes();
    }
    try {
      switch (kind) {
        case 0 -> {
          VolumeRecord v = VolumeRecord.decode(bytes);
          check(v.equals(VolumeRecord.decode(v.encode())), bytes);
        }
        case 1 -> {
          SnapshotRecord s = SnapshotRecord.decode(bytes);
          check(s.equals(SnapshotRecord.decode(s.encode())), bytes);
        }
        default -> {
          DatastoreDescriptor d = DatastoreDescriptor.decode(bytes);
          check(d.equals(DatastoreDescriptor.decode(d.encode())), bytes);
        }
      }
    } catch (JacksonException | IllegalArgumentException expected) {
      // malformed JSON, a value of the wrong kind, a malformed uuid
    }
  }

  private static void check(boolean sameBack, byte[] input) {
    if (!sameBack) {
      throw new AssertionError("a record read from " + new String(input, StandardCharsets.UTF_8)
          + " does not write and read back equal");
    }
  }
}
