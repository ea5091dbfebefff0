package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.store.CheckReport;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.store.VolumeInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/** A datastore in a temp directory with its inventory, reopened at will; checked on close. */
final class Fixture implements AutoCloseable {
  final Path dir;
  Datastore store;
  Inventory inventory;

  Fixture(Path dir) throws IOException {
    this.dir = dir;
    this.store = Datastore.create(dir, options(), 0);
    this.inventory = Inventory.open(store);
  }

  private Fixture(Path dir, Datastore store) throws IOException {
    this.dir = dir;
    this.store = store;
    this.inventory = Inventory.open(store);
  }

  /** Opens the existing datastore in {@code dir} and its inventory (reconciling it). */
  static Fixture reopen(Path dir) throws IOException {
    return new Fixture(dir, Datastore.open(dir, options()));
  }

  static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(4L << 20).withCleanerInterval(Duration.ZERO);
  }

  VirtualMachines vms() {
    return inventory.vms();
  }

  DesktopPools pools() {
    return inventory.pools();
  }

  /** Closes and reopens the datastore and the inventory (reconciling it). */
  void reopen() throws IOException {
    store.close();
    store = Datastore.open(dir, options());
    inventory = Inventory.open(store);
  }

  void write(String volume, long offset, byte[] data) throws IOException {
    try (Volume v = store.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  byte[] read(String spec, long offset, int length) throws IOException {
    try (Volume v = store.volume(spec, true)) {
      ByteBuffer b = ByteBuffer.allocate(length);
      v.read(offset, b);
      return b.array();
    }
  }

  /** Asserts the datastore check is clean and every volume belongs to the inventory and exists. */
  void assertConsistent() throws IOException {
    CheckReport r = store.check();
    assertThat(r.problems()).as("datastore check").isEmpty();
    Set<String> inDatastore = new TreeSet<>();
    for (VolumeInfo v : store.volumes()) {
      inDatastore.add(v.name());
    }
    assertThat(inDatastore).as("volumes in the datastore vs the inventory's")
        .isEqualTo(new TreeSet<>(inventory.volumes()));
    assertThat(inventory.problems()).isEmpty();
  }

  @Override
  public void close() throws IOException {
    try {
      assertConsistent();
    } finally {
      store.close();
    }
  }
}
