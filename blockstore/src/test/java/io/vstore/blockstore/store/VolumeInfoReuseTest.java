package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link VolumeInfo#of} reuses a volume's last figures while they are unchanged: seeded random
 * writes, discards, flushes, snapshots, clones, renames and resizes, and after each a listing
 * that must equal figures computed afresh, and a second listing that must reuse every object.
 */
final class VolumeInfoReuseTest {
  private static final int BLOCK = VolumeState.BLOCK;
  private static final long SIZE = 64L * BLOCK;

  @TempDir Path tmp;

  @Test
  void reusedFiguresAlwaysEqualFreshOnes() throws IOException {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    DatastoreOptions options = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO);
    try (Datastore ds = Datastore.create(tmp.resolve("ds"), options, 0)) {
      Map<String, Volume> open = new HashMap<>();
      List<String> names = new ArrayList<>();
      Map<String, List<String>> snapshots = new HashMap<>();
      for (String name : List.of("a", "b", "c")) {
        open.put(name, ds.createVolume(name, SIZE));
        names.add(name);
        snapshots.put(name, new ArrayList<>());
      }
      ByteBuffer block = ByteBuffer.allocate(BLOCK);
      int renamed = 0;
      Set<String> cloned = new HashSet<>(); // snapshots with clones, which cannot be deleted
      for (int step = 0; step < 300; step++) {
        String name = names.get(r.nextInt(names.size()));
        Volume v = open.get(name);
        String op;
        switch (r.nextInt(9)) {
          case 0, 1, 2 -> {
            op = "write " + name;
            r.nextBytes(block.array());
            v.write((long) r.nextInt((int) (v.size() / BLOCK)) * BLOCK, block.clear());
          }
          case 3 -> {
            op = "discard " + name;
            v.discard((long) r.nextInt((int) (v.size() / BLOCK)) * BLOCK, BLOCK);
          }
          case 4 -> {
            op = "flush";
            ds.flush();
          }
          case 5 -> {
            String snap = "s" + step;
            op = "snapshot " + name + "@" + snap;
            ds.createSnapshot(name, snap);
            snapshots.get(name).add(snap);
          }
          case 6 -> {
            List<String> own = snapshots.get(name);
            String clone = "k" + step;
            if (own.isEmpty() || names.size() >= 8) {
              op = "nothing";
              break;
            }
            String snap = own.get(r.nextInt(own.size()));
            op = "clone " + name + "@" + snap + " as " + clone;
            open.put(clone, ds.cloneSnapshot(name, snap, List.of(clone)).getFirst());
            cloned.add(snap);
            names.add(clone);
            snapshots.put(clone, new ArrayList<>());
          }
          case 7 -> {
            String to = "r" + renamed++;
            op = "rename " + name + " to " + to;
            ds.renameVolume(name, to);
            names.set(names.indexOf(name), to);
            open.put(to, open.remove(name));
            snapshots.put(to, snapshots.remove(name));
          }
          default -> {
            List<String> own = snapshots.get(name);
            if (own.isEmpty()) {
              op = "resize " + name;
              ds.resizeVolume(name, v.size() + BLOCK, false);
            } else if (!cloned.contains(own.getLast())) {
              op = "delete snapshot " + name + "@" + own.getLast();
              ds.deleteSnapshot(name, own.removeLast());
            } else {
              op = "nothing";
            }
          }
        }
        String where = "seed " + seed + ", step " + step + " (" + op + ")";
        List<VolumeInfo> listed = ds.volumes();
        assertThat(listed).as(where).hasSize(names.size());
        List<VolumeInfo> fresh = new ArrayList<>();
        for (VolumeInfo info : listed) {
          VolumeState state = open.get(info.name()).state();
          state.figures.lastInfo = null;
          fresh.add(VolumeInfo.of(state));
        }
        assertThat(listed).as(where).isEqualTo(fresh);
        List<VolumeInfo> again = ds.volumes();
        for (int i = 0; i < again.size(); i++) {
          assertThat(again.get(i)).as(where + ": unchanged figures are reused").isSameAs(fresh.get(i));
        }
      }
      for (Volume v : open.values()) {
        v.close();
      }
    }
  }
}
