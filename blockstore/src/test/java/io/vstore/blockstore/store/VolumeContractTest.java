package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** Holds datastore volumes to the BlockDevice contract, then checks the datastore. */
final class VolumeContractTest extends BlockDeviceContract {
  @TempDir Path dir;
  private final List<Datastore> stores = new ArrayList<>();
  private int volumes;

  private static DatastoreOptions options() {
    // Small segments so that tests cross segment boundaries.
    return DatastoreOptions.defaults().withSegmentBytes(4L << 20).withCleanerInterval(java.time.Duration.ZERO);
  }

  @Override
  protected BlockDevice create(long size) throws IOException {
    Path p = dir.resolve("ds" + stores.size());
    Datastore ds = Datastore.create(p, options(), 0);
    stores.add(ds);
    return ds.createVolume("v" + volumes++, size);
  }

  @Override
  protected BlockDevice reopen(BlockDevice device) throws IOException {
    Volume v = (Volume) device;
    for (int i = 0; i < stores.size(); i++) {
      Datastore ds = stores.get(i);
      if (ds.isOpen() && ds.hasVolume(v.name())) {
        v.close();
        ds.close();
        Datastore again = Datastore.open(ds.path(), options());
        stores.set(i, again);
        return again.volume(v.name());
      }
    }
    throw new IllegalStateException("no open datastore holds " + v);
  }

  @AfterEach
  void checkAndClose() throws IOException {
    for (Datastore ds : stores) {
      if (ds.isOpen()) {
        CheckReport report = ds.check();
        assertThat(report.problems()).as("datastore check of %s", ds).isEmpty();
        ds.close();
      }
    }
  }
}
