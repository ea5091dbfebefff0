package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts in the middle of snapshot, clone, snapshot deletion, revert and flatten (the disk
 * fails an fsync partway through the operation, then the power goes). After reopening, datastore
 * check is clean; every operation that completed is there; the interrupted one is either wholly
 * there or wholly absent; and every snapshot and clone that exists holds exactly its content.
 */
@Tag("slow")
final class MetadataPowerCutTest {
  private static final long SIZE = 4L << 20;
  @TempDir Path tmp;

  @Test
  void interruptedMetadataOperationsLeaveTheBeforeOrTheAfterState() throws IOException {
    Workloads.eachSeed("metadata power-cut", 0x3e7a0000L, Workloads.iterations(40, 15),
        tmp, "ds", this::runOnce);
  }

  private static MemoryBlockDevice copy(io.vstore.blockstore.BlockDevice d, String name) throws IOException {
    MemoryBlockDevice c = new MemoryBlockDevice(name, SIZE);
    byte[] all = new byte[(int) SIZE];
    d.read(0, ByteBuffer.wrap(all));
    c.write(0, ByteBuffer.wrap(all));
    return c;
  }

  private void runOnce(long seed, Path dir) throws IOException {
    Random r = new Random(seed);
    PowerCutChannels power = new PowerCutChannels(seed);
    DatastoreOptions faulty = DatastoreOptions.defaults().withSegmentBytes(2L << 20).withCleanerInterval(Duration.ZERO)
        .withChannels(power::open);
    Datastore ds = Datastore.create(dir, faulty, 0);
    Volume v = ds.createVolume("v", SIZE);
    MemoryBlockDevice head = new MemoryBlockDevice("v", SIZE);
    Map<String, MemoryBlockDevice> committed = new HashMap<>(); // "v@s" and clone names, with content
    Map<String, String> cloneParent = new HashMap<>();
    List<String> snapshots = new ArrayList<>();
    String inFlight = null;
    MemoryBlockDevice inFlightContent = null;
    boolean inFlightRemoves = false;
    power.failForceAfter(2 + r.nextInt(40));
    int names = 0;
    try {
      for (int step = 0; step < 200; step++) {
        int op = r.nextInt(10);
        if (op < 4) {
          int n = 4096 * (1 + r.nextInt(32));
          long off = 4096L * r.nextInt((int) ((SIZE - n) / 4096));
          ByteBuffer data = Workloads.data(r, n);
          v.write(off, data.duplicate());
          head.write(off, data);
        } else if (op < 6) {
          String snap = "s" + names++;
          inFlight = "v@" + snap;
          inFlightContent = copy(head, inFlight);
          inFlightRemoves = false;
          ds.createSnapshot("v", snap);
          committed.put(inFlight, inFlightContent);
          snapshots.add(snap);
        } else if (op == 6 && !snapshots.isEmpty()) {
          String snap = snapshots.get(r.nextInt(snapshots.size()));
          String clone = "c" + names++;
          inFlight = clone;
          inFlightContent = committed.get("v@" + snap);
          inFlightRemoves = false;
          ds.cloneSnapshot("v", snap, List.of(clone)).getFirst().close();
          committed.put(clone, inFlightContent);
          cloneParent.put(clone, "v@" + snap);
        } else if (op == 7 && !snapshots.isEmpty()) {
          String snap = snapshots.get(r.nextInt(snapshots.size()));
          if (!cloneParent.containsValue("v@" + snap)) {
            inFlight = "v@" + snap;
            inFlightContent = committed.get(inFlight);
            inFlightRemoves = true;
            ds.deleteSnapshot("v", snap);
            committed.remove(inFlight);
            snapshots.remove(snap);
          }
        } else if (op == 8 && !snapshots.isEmpty()) {
          String snap = snapshots.get(r.nextInt(snapshots.size()));
          inFlight = null;
          ds.revert("v", snap);
          head = copy(committed.get("v@" + snap), "v");
        } else if (op == 9 && !cloneParent.isEmpty()) {
          String clone = cloneParent.keySet().iterator().next();
          inFlight = null;
          ds.flatten(clone);
          cloneParent.remove(clone);
        }
        inFlight = op < 4 ? inFlight : null;
      }
    } catch (IOException injected) {
      assertThat(injected).hasMessageContaining("injected failure");
    }
    power.cut();
    ds.abandon();

    try (Datastore again = Datastore.open(dir, DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO))) {
      assertThat(again.check().problems()).as("check after the cut").isEmpty();
      for (Map.Entry<String, MemoryBlockDevice> e : committed.entrySet()) {
        if (e.getKey().equals(inFlight) && inFlightRemoves) {
          continue;
        }
        assertThat(exists(again, e.getKey())).as("%s completed before the cut", e.getKey()).isTrue();
        assertSame(again, e.getKey(), e.getValue());
      }
      if (inFlight != null) {
        if (exists(again, inFlight) && inFlightContent != null) {
          assertSame(again, inFlight, inFlightContent); // the interrupted operation happened wholly
        }
      }
      for (String name : again.volumes().stream().map(VolumeInfo::name).toList()) {
        assertThat(name.equals("v") || committed.containsKey(name) || name.equals(inFlight))
            .as("volume %s exists but was never created", name).isTrue();
      }
    }
  }

  private static boolean exists(Datastore ds, String device) {
    try {
      ds.volume(device, true).close();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void assertSame(Datastore ds, String device, MemoryBlockDevice expected) throws IOException {
    byte[] want = new byte[(int) SIZE];
    byte[] got = new byte[(int) SIZE];
    expected.read(0, ByteBuffer.wrap(want));
    try (Volume d = ds.volume(device, true)) {
      d.read(0, ByteBuffer.wrap(got));
    }
    assertThat(Arrays.mismatch(got, want)).as("content of %s", device).isEqualTo(-1);
  }
}
