package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.OutOfSpaceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a full datastore tells the user to do. */
final class CapacityMessageTest {
  @TempDir Path tmp;

  @Test
  void aFullDatastoreNamesTheCommandsThatFreeSpaceAndRaiseTheLimit() throws IOException {
    DatastoreOptions options = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options, 8L << 20); Volume v = ds.createVolume("v", 1L << 30)) {
      OutOfSpaceException full = null;
      byte[] data = new byte[1 << 20];
      for (int i = 0; i < 32 && full == null; i++) {
        new Random(i).nextBytes(data);
        try {
          v.write((long) i << 20, ByteBuffer.wrap(data));
        } catch (OutOfSpaceException e) {
          full = e;
        }
      }
      assertThat(full).isNotNull();
      assertThat(full.getMessage()).startsWith("datastore " + tmp.resolve("ds") + " is full: ")
          .endsWith("; free space with 'vstore volume delete', 'vstore snapshot delete' or 'vstore vm delete',"
              + " or raise the capacity with 'vstore datastore set --capacity SIZE'");
    }
  }
}
