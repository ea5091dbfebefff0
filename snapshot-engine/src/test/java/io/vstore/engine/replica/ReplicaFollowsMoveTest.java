package io.vstore.engine.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.engine.move.MoveRecord;
import io.vstore.engine.move.VolumeMove;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replication gaps around other workflows: a replicated volume moved to a third datastore keeps
 * its pair (client writes during the copy pass, at the switch and after it end on the secondary,
 * also after the registry restarts); a side of a pair cannot be deleted until the pair is removed;
 * a secondary cannot be moved; a VM's disks replicate all or none.
 */
class ReplicaFollowsMoveTest {
  private static final long SIZE = 16L << 20;
  private static final int BLOCK = 4096;

  @TempDir Path tmp;
  private final Map<Path, Datastore> stores = new LinkedHashMap<>();
  private Datastore a;
  private Datastore b;
  private Datastore c;
  private Replicas replicas;
  private final Random rnd = new Random(17);

  @BeforeEach
  void open() throws IOException {
    a = create("a");
    b = create("b");
    c = create("c");
    a.createVolume("vm", SIZE).close();
    replicas = Replicas.open(stores, null, (e, s) -> {}, Duration.ofMillis(50));
    guard();
  }

  private Datastore create(String name) throws IOException {
    Path dir = tmp.resolve(name);
    Datastore ds = Datastore.create(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 0);
    stores.put(dir, ds);
    return ds;
  }

  /** The daemon's deletion guard, as {@code Daemon} installs it. */
  private void guard() {
    for (Datastore ds : stores.values()) {
      ds.setDeletionGuard((volume, snapshot) -> {
        if (snapshot == null) {
          replicas.checkDeletable(ds.path(), volume);
        }
      });
    }
  }

  @AfterEach
  void close() throws IOException {
    replicas.close();
    for (Datastore ds : stores.values()) {
      assertThat(ds.check().problems()).as("check of %s", ds.path()).isEmpty();
      ds.close();
    }
  }

  private void awaitActive(String id) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (true) {
      ReplicaStatus s = replicas.info(id).stream().filter(x -> x.role().equals("PRIMARY")).findFirst().orElseThrow();
      if (s.state().equals("ACTIVE") && s.bytesBehind() == 0) {
        return;
      }
      assertThat(System.nanoTime()).as("replica %s stuck in %s (%s)", id, s.state(), s.lastError()).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private void writes(Volume v, MemoryBlockDevice model, int count) throws IOException {
    for (int i = 0; i < count; i++) {
      int n = 1 + rnd.nextInt(8);
      long block = rnd.nextLong(SIZE / BLOCK - n);
      byte[] data = new byte[n * BLOCK];
      rnd.nextBytes(data);
      v.write(block * BLOCK, ByteBuffer.wrap(data));
      model.write(block * BLOCK, ByteBuffer.wrap(data));
    }
  }

  private static void assertSame(Datastore ds, String volume, MemoryBlockDevice model) throws IOException {
    try (Volume v = ds.volume(volume, true)) {
      ByteBuffer x = ByteBuffer.allocate(1 << 20);
      ByteBuffer y = ByteBuffer.allocate(1 << 20);
      for (long off = 0; off < SIZE; off += x.capacity()) {
        v.read(off, x.clear());
        model.read(off, y.clear());
        assertThat(x.array()).as("%s:%s at %d", ds.path(), volume, off).isEqualTo(y.array());
      }
    }
  }

  @Test
  void aMovedPrimaryKeepsItsPairAndEveryWriteReachesTheSecondary() throws Exception {
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    try (Volume v = a.volume("vm")) {
      writes(v, model, 200);
      v.flush();
    }
    replicas.create(a.path(), "vm", b.path().toString(), "p1");
    awaitActive("p1");
    try (Volume client = a.volume("vm")) {
      VolumeMove move = VolumeMove.start(a, "vm", c, 0, false);
      move.run(new VolumeMove.Listener() {
        @Override
        public void progress(long done, long total) {
          try {
            writes(client, model, 3); // mirrored to C below the cursor, and to B by the pair
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }

        @Override
        public void switched(MoveRecord record) throws IOException {
          writes(client, model, 20); // through the forwarded handle, before the pair follows
          assertThat(replicas.volumeMoved(a.path(), "vm", c.path())).isPresent();
          writes(client, model, 20);
        }
      }, () -> false);
      writes(client, model, 50);
      client.flush();
    }
    assertThat(a.hasVolume("vm")).isFalse();
    ReplicaStatus primary = replicas.info("p1").stream().filter(s -> s.role().equals("PRIMARY")).findFirst().orElseThrow();
    assertThat(primary.datastore()).isEqualTo(c.path().toString());
    awaitActive("p1");
    assertSame(c, "vm", model);
    assertSame(b, "vm", model);
    assertThat(new ReplicaStore(a.path()).readAll()).isEmpty();
    assertThat(new ReplicaStore(b.path()).readAll().getFirst().peer()).isEqualTo(c.path().toString());

    // The pair resumes from the moved record after a restart.
    replicas.close();
    replicas = Replicas.open(stores, null, (e, s) -> {}, Duration.ofMillis(50));
    guard();
    try (Volume v = c.volume("vm")) {
      writes(v, model, 30);
      v.flush();
    }
    awaitActive("p1");
    assertSame(b, "vm", model);
  }

  @Test
  void sidesOfAPairAreNotDeletedAndASecondaryDoesNotMove() throws Exception {
    replicas.create(a.path(), "vm", b.path().toString(), "p2");
    awaitActive("p2");
    assertThatThrownBy(() -> a.deleteVolume("vm", true)).isInstanceOf(IllegalStateException.class)
        .hasMessage("volume vm is replicated by replica p2 to " + b.path() + ":vm: remove the replica first"
            + " (vstore replica remove p2)");
    assertThatThrownBy(() -> b.deleteVolume("vm", true)).isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("volume vm is the secondary of replica p2 (primary " + a.path() + ":vm)");
    assertThatThrownBy(() -> replicas.checkMovable(b.path(), "vm")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("promote it or remove the replica before moving it");
    replicas.checkMovable(a.path(), "vm");
    replicas.remove("p2");
    a.deleteVolume("vm", true);
    b.deleteVolume("vm", true);
  }

  @Test
  void aVmsDisksReplicateAllOrNone() throws Exception {
    a.createVolume("web-disk0", SIZE).close();
    a.createVolume("web-disk1", SIZE).close();
    c.createVolume("web-disk1", SIZE).close(); // in the way: the second pair cannot be made
    assertThatThrownBy(() -> replicas.createAll(a.path(), List.of("web-disk0", "web-disk1"), c.path().toString(), "w"))
        .hasMessageContaining("web-disk1");
    assertThat(replicas.list()).isEmpty();
    assertThat(c.hasVolume("web-disk0")).isFalse();
    c.deleteVolume("web-disk1", true);
    List<ReplicaStatus> made = replicas.createAll(a.path(), List.of("web-disk0", "web-disk1"), c.path().toString(), "w");
    assertThat(made).extracting(ReplicaStatus::id).containsExactly("w-0", "w-1");
    awaitActive("w-0");
    awaitActive("w-1");
    assertThatThrownBy(() -> replicas.createAll(a.path(), List.of("vm"), "nbd://127.0.0.1:1/x", null))
        .hasMessageStartingWith("an NBD export holds one disk");
    replicas.remove("w-0");
    replicas.remove("w-1");
  }
}
