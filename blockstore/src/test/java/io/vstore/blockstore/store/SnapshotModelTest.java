package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.LongStream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Random sequences of writes, zeroing, snapshots, reverts, snapshot deletions, linked clones,
 * flattens, close/reopen and changed-block queries against a model that keeps a full copy of
 * every volume and snapshot, with change ids pinned and unpinned as the change log is merged.
 * Checks every read, every changed-areas answer (it must contain every block that differs and
 * nothing that was not touched since the change id; a pinned or recent change id must be answered,
 * an older one may be refused as no longer tracked, never answered wrongly), space figures and
 * {@code datastore check}. One case per seed; see {@link ModelRun} to replay one.
 */
final class SnapshotModelTest {
  private static final long SIZE = 2L << 20;
  private static final int BLOCK = 4096;
  private static final int BLOCKS = (int) (SIZE / BLOCK);
  @TempDir Path dir;

  /** A point a changed-areas query can start from: the content then, and the blocks touched since. */
  private record ChangePoint(String device, String changeId, MemoryBlockDevice content, BitSet touched) {}

  /** The model of the whole datastore. */
  private static final class Model {
    final Map<String, MemoryBlockDevice> devices = new LinkedHashMap<>(); // "vol" and "vol@snap"
    final Map<String, String> parentOf = new HashMap<>(); // clone -> vol@snap
    final List<ChangePoint> points = new ArrayList<>();
    final Map<String, BitSet> touchedSinceSnapshot = new HashMap<>(); // vol@snap -> touched since
    final Map<String, Set<String>> pins = new HashMap<>(); // change id -> its pins' labels ("" unnamed)

    List<String> volumes() {
      return devices.keySet().stream().filter(n -> !n.contains("@")).toList();
    }

    List<String> snapshotsOf(String volume) {
      return devices.keySet().stream().filter(n -> n.startsWith(volume + "@")).toList();
    }

    void touch(String volume, long from, long to) {
      for (ChangePoint p : points) {
        if (p.device().equals(volume)) {
          p.touched().set((int) from, (int) to);
        }
      }
      for (Map.Entry<String, BitSet> e : touchedSinceSnapshot.entrySet()) {
        if (e.getKey().startsWith(volume + "@")) {
          e.getValue().set((int) from, (int) to);
        }
      }
    }
  }

  /** Whether this run's datastore is encrypted (every record sealed): the same model, through the sealed record paths. */
  private boolean encrypted;

  private DatastoreOptions options(Random r) {
    return plainOptions(r).withKeys(encrypted ? EncryptedDatastoreTest.passphrase("model") : null);
  }

  private static DatastoreOptions plainOptions(Random r) {
    // Half the runs keep almost no metadata pages in memory, so that pages are evicted and reloaded all along.
    return DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withMetadataCache(r.nextBoolean() ? 64 << 10 : DatastoreOptions.DEFAULT_METADATA_CACHE)
        .withFlushThreshold(10 + r.nextInt(300));
  }

  private static MemoryBlockDevice copy(MemoryBlockDevice d, String name) throws IOException {
    MemoryBlockDevice c = new MemoryBlockDevice(name, SIZE);
    byte[] all = new byte[(int) SIZE];
    d.read(0, ByteBuffer.wrap(all));
    c.write(0, ByteBuffer.wrap(all));
    return c;
  }

  static LongStream seeds() {
    return ModelRun.seeds(20);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void snapshotsClonesAndChangeTrackingAgreeWithTheModel(long seed) {
    ModelRun.run(seed, this::oneRun);
  }

  static LongStream encryptedSeeds() {
    return ModelRun.seeds(8);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("encryptedSeeds")
  void onAnEncryptedDatastoreToo(long seed) {
    encrypted = true;
    ModelRun.run(seed, this::oneRun);
  }

  private void oneRun(ModelRun run) throws IOException {
    Random r = run.random();
    Path path = dir.resolve("ds");
    Model model = new Model();
    Datastore store = Datastore.create(path, options(r), 0, encrypted);
    int names = 0;
    try {
      store.createVolume("v0", SIZE).close();
      model.devices.put("v0", new MemoryBlockDevice("v0", SIZE));
      int steps = 60 + r.nextInt(100);
      for (int step = 0; step < steps; step++) {
        List<String> volumes = model.volumes();
        String vol = volumes.get(r.nextInt(volumes.size()));
        List<String> snaps = model.snapshotsOf(vol);
        int op = r.nextInt(100);
        if (op < 35) {
          int n = r.nextInt(3) == 0 ? 1 + r.nextInt(9000) : BLOCK * (1 + r.nextInt(64));
          long off = r.nextInt(3) == 0 ? r.nextLong(SIZE - n) : BLOCK * r.nextLong((SIZE - n) / BLOCK);
          run.step(step, "write " + n + " at " + off + " to " + vol);
          ByteBuffer data = Workloads.data(r, n);
          model.devices.get(vol).write(off, data.duplicate());
          model.touch(vol, off / BLOCK, (off + n + BLOCK - 1) / BLOCK);
          handle(store, vol).write(off, data);
        } else if (op < 42) {
          long n = 1 + r.nextLong(SIZE / 3);
          long off = r.nextLong(SIZE - n);
          boolean discard = r.nextBoolean();
          boolean mayUnmap = !discard && r.nextBoolean();
          run.step(step, (discard ? "discard " : "write zeroes ") + n + " at " + off + " of " + vol
              + (mayUnmap ? " (may unmap)" : ""));
          model.devices.get(vol).writeZeroes(off, n, true);
          model.touch(vol, off / BLOCK, (off + n + BLOCK - 1) / BLOCK);
          Volume v = handle(store, vol);
          if (discard) {
            v.discard(off, n);
          } else {
            v.writeZeroes(off, n, mayUnmap);
          }
        } else if (op < 52) {
          String snap = "s" + names++;
          run.step(step, "snapshot " + vol + "@" + snap);
          store.createSnapshot(vol, snap);
          model.devices.put(vol + "@" + snap, copy(model.devices.get(vol), vol + "@" + snap));
          model.touchedSinceSnapshot.put(vol + "@" + snap, new BitSet());
        } else if (op < 57 && !snaps.isEmpty()) {
          String full = snaps.get(r.nextInt(snaps.size()));
          run.step(step, "revert to " + full);
          store.revert(vol, full.substring(full.indexOf('@') + 1));
          BitSet since = model.touchedSinceSnapshot.get(full);
          since.stream().forEach(b -> model.touch(vol, b, b + 1));
          model.devices.put(vol, copy(model.devices.get(full), vol));
        } else if (op < 63 && !snaps.isEmpty()) {
          String full = snaps.get(r.nextInt(snaps.size()));
          String snap = full.substring(full.indexOf('@') + 1);
          run.step(step, "delete snapshot " + full);
          if (model.parentOf.containsValue(full)) {
            Datastore current = store;
            assertThatThrownBy(() -> current.deleteSnapshot(vol, snap)).hasMessageContaining("linked clones");
          } else {
            store.deleteSnapshot(vol, snap);
            handles.remove(full);
            model.devices.remove(full);
            model.touchedSinceSnapshot.remove(full);
          }
        } else if (op < 69 && !snaps.isEmpty() && volumes.size() < 6) {
          String full = snaps.get(r.nextInt(snaps.size()));
          String clone = "c" + names++;
          run.step(step, "clone " + full + " as " + clone);
          store.cloneSnapshot(vol, full.substring(full.indexOf('@') + 1), List.of(clone)).forEach(this::close);
          model.devices.put(clone, copy(model.devices.get(full), clone));
          model.parentOf.put(clone, full);
        } else if (op < 72 && model.parentOf.containsKey(vol)) {
          run.step(step, "flatten " + vol);
          store.flatten(vol);
          model.parentOf.remove(vol);
        } else if (op < 76) {
          run.step(step, "change point of " + vol);
          VolumeInfo info = store.volumeInfo(vol);
          model.points.add(new ChangePoint(vol, info.changeId(), copy(model.devices.get(vol), "point"), new BitSet()));
          if (r.nextBoolean()) {
            String label = r.nextBoolean() ? "" : "pin" + names++;
            store.pinChangeId(info.changeId(), label.isEmpty() ? null : label);
            model.pins.computeIfAbsent(info.changeId(), k -> new TreeSet<>()).add(label);
          }
        } else if (op < 80 && !model.points.isEmpty()) {
          ChangePoint p = model.points.get(r.nextInt(model.points.size()));
          Set<String> labels = model.pins.get(p.changeId());
          if (labels != null) {
            String label = labels.iterator().next();
            boolean byLabel = !label.isEmpty() && r.nextBoolean();
            run.step(step, "unpin " + (byLabel ? label : p.changeId()));
            List<ChangePin> gone = store.unpinChangeId(byLabel ? label : p.changeId());
            assertThat(gone).extracting(ChangePin::changeId).containsOnly(p.changeId());
            if (byLabel) {
              labels.remove(label);
            }
            if (!byLabel || labels.isEmpty()) {
              model.pins.remove(p.changeId());
            }
          } else if (model.devices.containsKey(p.device())) {
            run.step(step, "pin " + p.changeId());
            try {
              store.pinChangeId(p.changeId(), null);
              model.pins.computeIfAbsent(p.changeId(), k -> new TreeSet<>()).add("");
            } catch (ChangeIdException e) {
              checkRefusal(store, p, e);
            }
          }
        } else if (op < 86 && !model.points.isEmpty()) {
          ChangePoint p = model.points.get(r.nextInt(model.points.size()));
          run.step(step, "changed areas of " + p.device() + " since " + p.changeId());
          if (model.devices.containsKey(p.device())) {
            checkChanges(store, model, p, "changes");
          }
        } else if (op < 94) {
          List<String> all = new ArrayList<>(model.devices.keySet());
          String device = all.get(r.nextInt(all.size()));
          int n = 1 + r.nextInt((int) SIZE / 2);
          long off = r.nextLong(SIZE - n);
          run.step(step, "read " + n + " at " + off + " of " + device);
          byte[] expected = new byte[n];
          byte[] actual = new byte[n];
          model.devices.get(device).read(off, ByteBuffer.wrap(expected));
          handle(store, device).read(off, ByteBuffer.wrap(actual));
          assertThat(Arrays.mismatch(actual, expected)).as("%s at %d", device, off).isEqualTo(-1);
        } else if (op < 97) {
          // Rewrite every window of the volume that holds two or more pieces: nothing any
          // device reads may change, and changed-block tracking must report nothing new.
          run.step(step, "defragment " + vol);
          VolumeWriter w = handle(store, vol).state().writer();
          for (long first = 0; first < BLOCKS; first += Defragmenter.WINDOW_BLOCKS) {
            w.defragment(first, Math.min(BLOCKS, first + Defragmenter.WINDOW_BLOCKS), 2);
          }
        } else {
          run.step(step, "close and reopen");
          handles.clear(); // a handle does not outlive its datastore
          store.close();
          store = Datastore.open(path, options(r));
        }
        checkSpaceFigures(store, step);
      }
      run.finish("final checks");
      for (String device : model.devices.keySet()) {
        byte[] expected = new byte[(int) SIZE];
        byte[] actual = new byte[(int) SIZE];
        model.devices.get(device).read(0, ByteBuffer.wrap(expected));
        try (Volume v = store.volume(device, true)) {
          v.read(0, ByteBuffer.wrap(actual));
          for (Extent e : v.allocation(0, SIZE)) {
            if (e.kind().readsAsZeros()) {
              assertThat(Arrays.copyOfRange(expected, (int) e.offset(), (int) e.end())).as("%s %s", device, e)
                  .containsOnly(0);
            }
          }
        }
        assertThat(Arrays.mismatch(actual, expected)).as("final content of %s", device).isEqualTo(-1);
      }
      for (ChangePoint p : model.points) {
        if (model.devices.containsKey(p.device())) {
          checkChanges(store, model, p, "final");
        }
      }
      long allocated = store.volumes().stream().mapToLong(VolumeInfo::allocated).sum();
      assertThat(store.info().allocated()).as("datastore allocated is the sum of its volumes'").isEqualTo(allocated);
      assertThat(store.check().problems()).as("check").isEmpty();
    } finally {
      store.close();
    }
  }

  /** The figures a listing gives (kept while a volume is unchanged) equal figures computed afresh. */
  private static void checkSpaceFigures(Datastore store, int step) throws IOException {
    for (VolumeInfo info : store.volumes()) {
      long[] fresh;
      try (Volume v = store.volume(info.name(), true)) {
        fresh = v.state().headView().space();
      }
      assertThat(new long[] {info.unique(), info.shared()}).as("space of %s after step %d", info.name(), step)
          .containsExactly(fresh[1], fresh[2]);
    }
  }

  /** Handles kept open across steps: closing one flushes, which would make every step sync. */
  private final Map<String, Volume> handles = new HashMap<>();

  private Volume handle(Datastore store, String device) throws IOException {
    Volume v = handles.get(device);
    if (v == null) {
      v = store.volume(device, device.contains("@"));
      handles.put(device, v);
    }
    return v;
  }

  private void close(Volume v) {
    try {
      v.close();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Checks that refusing {@code p}'s change id as pruned was allowed: it is not one of the recent ones. */
  private static void checkRefusal(Datastore store, ChangePoint p, ChangeIdException e) throws IOException {
    assertThat(e).hasMessageContaining("is no longer tracked");
    long generation = Long.parseLong(p.changeId().substring(p.changeId().lastIndexOf('/') + 1));
    long now = store.volumeInfo(p.device()).generation(); // flushes, so at least what the refusal saw
    assertThat(generation).as("change id %s refused at generation %d", p.changeId(), now)
        .isLessThan(now - ChangeLog.RECENT);
  }

  /** Every block that differs from the change point is reported; nothing untouched since is. */
  private static void checkChanges(Datastore store, Model model, ChangePoint p, String where) throws IOException {
    ChangedAreas changes;
    try {
      changes = store.changedAreas(p.device(), p.changeId(), 0, SIZE);
    } catch (ChangeIdException e) {
      assertThat(model.pins).as("%s: pinned change id %s refused", where, p.changeId()).doesNotContainKey(p.changeId());
      checkRefusal(store, p, e);
      return;
    }
    BitSet reported = new BitSet();
    for (Extent e : changes.extents()) {
      reported.set((int) (e.offset() / BLOCK), (int) ((e.end() + BLOCK - 1) / BLOCK));
    }
    byte[] then = new byte[BLOCK];
    byte[] now = new byte[BLOCK];
    for (int b = 0; b < BLOCKS; b++) {
      p.content().read((long) b * BLOCK, ByteBuffer.wrap(then));
      model.devices.get(p.device()).read((long) b * BLOCK, ByteBuffer.wrap(now));
      if (!Arrays.equals(then, now)) {
        assertThat(reported.get(b)).as("%s: block %d of %s changed since %s but is not reported", where, b, p.device(),
            p.changeId()).isTrue();
      }
    }
    BitSet extra = (BitSet) reported.clone();
    extra.andNot(p.touched());
    assertThat(extra.isEmpty()).as("%s: %s reports untouched blocks %s since %s", where, p.device(), extra,
        p.changeId()).isTrue();
  }
}
