package io.vstore.engine.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication between two datastores against a model: every acknowledged write on both sides,
 * resyncs that send exactly what changed (counted), fencing after promote, re-protect from the
 * divergence point, and a restart in the middle of a resync.
 */
class ReplicaModelTest {
  private static final long SIZE = 64L << 20;
  private static final int BLOCK = 4096;
  private static final boolean CI = "true".equals(System.getenv("CI"));

  @TempDir Path tmp;
  private Path dirA;
  private Path dirB;
  private Datastore a;
  private Datastore b;
  private Replicas replicas;
  private final List<String> events = new CopyOnWriteArrayList<>();
  private long seed;
  private Random rnd;
  private int step;

  @BeforeEach
  void open() throws IOException {
    seed = System.nanoTime();
    rnd = new Random(seed);
    dirA = tmp.resolve("a");
    dirB = tmp.resolve("b");
    a = Datastore.create(dirA, options(), 0);
    b = Datastore.create(dirB, options(), 0);
    a.createVolume("vm", SIZE).close();
    replicas = openReplicas(null);
  }

  private static DatastoreOptions options() {
    return DatastoreOptions.defaults().withSegmentBytes(8L << 20).withCleanerInterval(Duration.ZERO);
  }

  private Replicas openReplicas(Replicas.RemoteOpener remote) throws IOException {
    Map<Path, Datastore> m = new LinkedHashMap<>();
    m.put(dirA, a);
    m.put(dirB, b);
    return Replicas.open(m, remote, (e, s) -> events.add(e + " " + s.id() + " " + s.state()), Duration.ofMillis(50));
  }

  @AfterEach
  void close() throws IOException {
    if (replicas != null) {
      replicas.close();
    }
    if (a != null) {
      assertThat(a.check().problems()).as("check of A (seed %d)", seed).isEmpty();
      a.close();
    }
    if (b != null) {
      assertThat(b.check().problems()).as("check of B (seed %d)", seed).isEmpty();
      b.close();
    }
  }

  private String where() {
    return "seed " + seed + ", step " + step;
  }

  private ReplicaStatus primary(String id) throws IOException {
    return replicas.info(id).stream().filter(s -> s.role().equals("PRIMARY")).findFirst().orElseThrow();
  }

  private void awaitState(String id, String state) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    ReplicaStatus s = primary(id);
    while (!s.state().equals(state)) {
      assertThat(System.nanoTime()).as("%s: replica %s stuck in %s (%s), wanted %s; events %s", where(), id, s.state(),
          s.lastError(), state, events).isLessThan(deadline);
      Thread.sleep(20);
      s = primary(id);
    }
  }

  /** Flushes and waits until the pin names the primary's committed generation (a checkpoint ran). */
  private void awaitCheckpoint(Datastore ds, String id) throws Exception {
    String volume = replicas.primaryRecord(id).volume();
    try (Volume v = ds.volume(volume)) {
      v.flush();
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      String now = ds.volumeInfo(volume).changeId();
      if (now.equals(replicas.primaryRecord(id).ownPin())) {
        return;
      }
      assertThat(System.nanoTime()).as("%s: no checkpoint reached %s", where(), now).isLessThan(deadline);
      try (Volume v = ds.volume(volume)) {
        v.flush(); // a checkpoint follows a flush through the volume
      }
      Thread.sleep(20);
    }
  }

  /** Writes random blocks to {@code ds}'s volume and the model; returns the distinct blocks touched. */
  private Set<Long> randomWrites(Datastore ds, MemoryBlockDevice model, int count) throws IOException {
    Set<Long> blocks = new HashSet<>();
    try (Volume v = ds.volume("vm")) {
      for (int i = 0; i < count; i++, step++) {
        int n = 1 + rnd.nextInt(8);
        long block = rnd.nextLong(SIZE / BLOCK - n);
        byte[] data = new byte[n * BLOCK];
        rnd.nextBytes(data);
        v.write(block * BLOCK, ByteBuffer.wrap(data));
        model.write(block * BLOCK, ByteBuffer.wrap(data));
        for (int k = 0; k < n; k++) {
          blocks.add(block + k);
        }
        if (rnd.nextInt(10) == 0) {
          v.flush();
        }
      }
    }
    return blocks;
  }

  private void assertSame(Datastore ds, MemoryBlockDevice model) throws IOException {
    try (Volume v = ds.volume("vm", true)) {
      assertSameContent(v, model, ds.path().toString());
    }
  }

  private void assertSameContent(BlockDevice v, MemoryBlockDevice model, String what) throws IOException {
    ByteBuffer x = ByteBuffer.allocate(1 << 20);
    ByteBuffer y = ByteBuffer.allocate(1 << 20);
    for (long off = 0; off < SIZE; off += x.capacity()) {
      v.read(off, x.clear());
      model.read(off, y.clear());
      assertThat(x.array()).as("%s: %s differs from the model in the MiB at %d", where(), what, off).isEqualTo(y.array());
    }
  }

  @Test
  void everyAcknowledgedWriteIsOnBothSidesAndAResyncSendsExactlyWhatChanged() throws Exception {
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    randomWrites(a, model, 200); // data before the pair exists: the initial sync copies it
    long allocated = a.volumeInfo("vm").mapped();
    ReplicaStatus created = replicas.create(dirA, "vm", dirB.toString(), "p1");
    assertThat(created.role()).isEqualTo("PRIMARY");
    randomWrites(a, model, 200); // during the initial sync
    awaitState("p1", "ACTIVE");
    assertThat(replicas.bytesSent("p1")).as(where()).isLessThanOrEqualTo(allocated + 200L * 8 * BLOCK);
    assertSame(b, model);
    // ACTIVE: each write returns once both sides have it.
    randomWrites(a, model, CI ? 100 : 400);
    assertThat(primary("p1").state()).isEqualTo("ACTIVE");
    assertSame(b, model);
    assertThatThrownBy(() -> {
      try (Volume v = b.volume("vm")) {
        v.write(0, ByteBuffer.allocate(BLOCK));
      }
    }).isInstanceOf(ReadOnlyDeviceException.class).hasMessageContaining("secondary of replica p1");

    for (int round = 0; round < (CI ? 2 : 4); round++) {
      if (round % 2 == 0) {
        awaitCheckpoint(a, "p1");
      } // else pause itself advances the pin over the unflushed writes just made
      randomWrites(a, model, 20);
      replicas.pause("p1");
      long sentBefore = replicas.bytesSent("p1");
      Set<Long> changed = randomWrites(a, model, 50 + rnd.nextInt(200));
      ReplicaStatus paused = primary("p1");
      assertThat(paused.bytesBehind()).as(where()).isEqualTo(changed.size() * (long) BLOCK);
      replicas.resume("p1");
      awaitState("p1", "ACTIVE");
      assertThat(replicas.bytesSent("p1") - sentBefore).as("%s: resync bytes", where())
          .isEqualTo(changed.size() * (long) BLOCK);
      assertSame(b, model);
    }
    assertThat(events).anyMatch(e -> e.startsWith("in-sync p1")).anyMatch(e -> e.startsWith("paused p1"));
  }

  @Test
  void promoteFencesTheOldPrimaryAndReprotectSendsOnlyTheDivergence() throws Exception {
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    randomWrites(a, model, 100);
    replicas.create(dirA, "vm", dirB.toString(), "p2");
    awaitState("p2", "ACTIVE");
    randomWrites(a, model, 100);
    awaitCheckpoint(a, "p2");
    replicas.pause("p2"); // the link is down: A goes on alone
    MemoryBlockDevice lostOnA = new MemoryBlockDevice("a-alone", SIZE);
    Set<Long> changedOnA = randomWrites(a, lostOnA, 40);
    replicas.promote("p2");
    Set<Long> changedOnB = randomWrites(b, model, 60);
    replicas.resume("p2"); // A reaches B again: its epoch is old
    awaitState("p2", "FENCED");
    assertThatThrownBy(() -> {
      try (Volume v = a.volume("vm")) {
        v.write(0, ByteBuffer.allocate(BLOCK));
      }
    }).isInstanceOf(ReadOnlyDeviceException.class).hasMessageContaining("fenced");
    assertSame(b, model); // nothing of A's late writes reached B

    ReplicaStatus back = replicas.create(dirB, "vm", dirA.toString(), null);
    assertThat(back.id()).isEqualTo("p2");
    assertThat(back.epoch()).isEqualTo(2);
    awaitState("p2", "ACTIVE");
    Set<Long> union = new HashSet<>(changedOnA);
    union.addAll(changedOnB);
    assertThat(replicas.bytesSent("p2")).as("%s: re-protect bytes", where()).isLessThanOrEqualTo(union.size() * (long) BLOCK);
    assertSame(a, model);
    randomWrites(b, model, 50);
    assertSame(a, model);
  }

  @Test
  void aRestartInTheMiddleOfAResyncResumesIt() throws Exception {
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    replicas.create(dirA, "vm", dirB.toString(), "p3");
    awaitState("p3", "ACTIVE");
    randomWrites(a, model, 50);
    awaitCheckpoint(a, "p3");
    replicas.pause("p3");
    randomWrites(a, model, CI ? 400 : 1500);
    replicas.resume("p3");
    Thread.sleep(rnd.nextInt(50));
    replicas.close(); // the process stops, mid-resync or not
    replicas = null;
    a.close();
    b.close();
    a = Datastore.open(dirA, options());
    b = Datastore.open(dirB, options());
    replicas = openReplicas(null);
    awaitState("p3", "ACTIVE");
    assertSame(b, model);
    randomWrites(a, model, 50);
    assertSame(b, model);
  }

  @Test
  void aDeviceSecondaryThatFailsAndComesBackIsResynced() throws Exception {
    MemoryBlockDevice remote = new MemoryBlockDevice("remote", SIZE);
    FlakyDevice link = new FlakyDevice(remote);
    replicas.close();
    replicas = openReplicas(uri -> link.reopen());
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    randomWrites(a, model, 50);
    replicas.create(dirA, "vm", "nbd://example.invalid:10809/vm", "p4");
    awaitState("p4", "ACTIVE");
    for (int round = 0; round < (CI ? 3 : 8); round++) {
      link.failAfter(rnd.nextInt(20));
      randomWrites(a, model, 40); // the primary keeps serving whatever the link does
      link.heal();
      awaitState("p4", "ACTIVE");
      assertSameContent(remote, model, "the NBD secondary");
    }
  }

  /** A device whose writes fail after a countdown, like a cut link; reopening a cut one fails too. */
  static final class FlakyDevice {
    private final MemoryBlockDevice target;
    private volatile int left = Integer.MAX_VALUE;

    FlakyDevice(MemoryBlockDevice target) {
      this.target = target;
    }

    void failAfter(int writes) {
      left = writes;
    }

    void heal() {
      left = Integer.MAX_VALUE;
    }

    BlockDevice reopen() throws IOException {
      if (left <= 0) {
        throw new IOException("connection refused (test link cut)");
      }
      return new Link();
    }

    /** One connection over the link: fails every call once the countdown ran out. */
    private final class Link implements BlockDevice {
      private volatile boolean broken;

      private void check() throws IOException {
        if (broken || --left < 0) {
          broken = true;
          throw new IOException("connection reset (test link cut)");
        }
      }

      @Override
      public long size() {
        return target.size();
      }

      @Override
      public void read(long offset, ByteBuffer dst) throws IOException {
        target.read(offset, dst);
      }

      @Override
      public void write(long offset, ByteBuffer src) throws IOException {
        check();
        target.write(offset, src);
      }

      @Override
      public void flush() throws IOException {
        check();
      }

      @Override
      public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        check();
        target.writeZeroes(offset, length, mayUnmap);
      }

      @Override
      public void discard(long offset, long length) throws IOException {
        check();
        target.discard(offset, length);
      }

      @Override
      public java.util.List<io.vstore.blockstore.Extent> allocation(long offset, long length) {
        return target.allocation(offset, length);
      }

      @Override
      public boolean isReadOnly() {
        return false;
      }

      @Override
      public void close() {
        broken = true;
      }
    }
  }
}
