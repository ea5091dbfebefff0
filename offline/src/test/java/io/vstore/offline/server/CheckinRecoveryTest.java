package io.vstore.offline.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.FrameWriter;
import io.vstore.offline.client.OfflineCopy;
import io.vstore.offline.NoCommands;
import io.vstore.server.CommandRunner;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon that stops in the middle of a check-in leaves the server copy as before or, once it
 * starts again, as after: never a mix. A staged check-in without its commit marker is dropped; one
 * with the marker is applied again in full, even when part of it had already reached the volume.
 */
class CheckinRecoveryTest {
  private static final long SIZE = 16L << 20;
  private static final CommandRunner NO_COMMANDS = NoCommands.RUNNER;

  @TempDir Path tmp;

  private record Setup(String id, byte[] before, byte[] after, byte[][] pieces, long[] offsets) {}

  /** Checks VM desk out and returns its id, the disk before and the disk after the check-in {@link #frames} make. */
  private Setup checkOut(TestDaemon d, long seed) throws Exception {
    var ds = d.daemon().all().getFirst();
    ds.inventory().vms().create("desk", List.of(SIZE), JsonNodeFactory.instance.objectNode());
    Random rnd = new Random(seed);
    byte[] before = new byte[(int) SIZE];
    rnd.nextBytes(before);
    try (Volume v = ds.store().volume("desk-disk0")) {
      v.write(0, ByteBuffer.wrap(before));
      v.flush();
    }
    String token = d.daemon().tokens().create("carol", Scope.WRITE).secret();
    OfflineCopy.CheckoutReport r = OfflineCopy.checkout("desk", d.baseUrl(), token, null, tmp.resolve("copy-" + seed),
        "pw".toCharArray(), OfflineCopy.Progress.NONE);
    byte[] after = before.clone();
    int n = 12;
    byte[][] pieces = new byte[n][];
    long[] offsets = new long[n];
    for (int i = 0; i < n; i++) {
      pieces[i] = new byte[64 << 10];
      rnd.nextBytes(pieces[i]);
      offsets[i] = (long) rnd.nextInt((int) (SIZE / (64 << 10))) * (64 << 10);
      System.arraycopy(pieces[i], 0, after, (int) offsets[i], pieces[i].length);
    }
    return new Setup(r.checkoutId(), before, after, pieces, offsets);
  }

  private static void frames(Path file, Setup s) throws IOException {
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
      FrameWriter w = new FrameWriter(out);
      for (int i = 0; i < s.pieces().length; i++) {
        w.data(0, s.offsets()[i], ByteBuffer.wrap(s.pieces()[i]));
      }
      w.end();
    }
  }

  private static byte[] read(TestDaemon d) throws IOException {
    try (Volume v = d.daemon().all().getFirst().store().volume("desk-disk0", true)) {
      ByteBuffer b = ByteBuffer.allocate((int) SIZE);
      v.read(0, b);
      return b.array();
    }
  }

  @Test
  void aStagedCheckInWithoutItsMarkerIsDroppedAndAppliesNothing() throws Exception {
    Path server = tmp.resolve("server");
    Setup s;
    try (TestDaemon d = TestDaemon.start(NO_COMMANDS, server)) {
      Checkouts.install(d.daemon(), 2);
      s = checkOut(d, 1);
      frames(CheckinLog.stage(server.resolve(CheckoutRecords.DIR), s.id()), s);
    }
    try (TestDaemon d = TestDaemon.start(NO_COMMANDS, server)) {
      Checkouts c = Checkouts.install(d.daemon(), 2);
      assertThat(read(d)).isEqualTo(s.before());
      assertThat(CheckinLog.stage(server.resolve(CheckoutRecords.DIR), s.id())).doesNotExist();
      assertThat(c.find(s.id()).getValue().state()).isEqualTo(CheckoutState.OUT);
    }
  }

  @Test
  void aCommittedCheckInCutShortRollsForwardInFull() throws Exception {
    for (int applied : new int[] {0, 5, 12}) {
      Path server = tmp.resolve("server-" + applied);
      Setup s;
      try (TestDaemon d = TestDaemon.start(NO_COMMANDS, server)) {
        Checkouts.install(d.daemon(), 2);
        s = checkOut(d, 100 + applied);
        Path dir = server.resolve(CheckoutRecords.DIR);
        frames(CheckinLog.stage(dir, s.id()), s);
        CheckinLog.commit(dir, s.id(), new CheckinLog.Marker(1, false, 12L << 16, 1000));
        // the stop came after `applied` of the frames reached the volume (flushed: the worst case)
        var store = d.daemon().all().getFirst().store();
        new ServerCopyLocks().whileApplying(s.id(), () -> {
          try (Volume v = store.volume("desk-disk0")) {
            for (int i = 0; i < applied; i++) {
              v.write(s.offsets()[i], ByteBuffer.wrap(s.pieces()[i]));
            }
            v.flush();
          }
        });
      }
      try (TestDaemon d = TestDaemon.start(NO_COMMANDS, server)) {
        Checkouts c = Checkouts.install(d.daemon(), 2);
        assertThat(Arrays.equals(read(d), s.after())).as("after %d frames had been applied", applied).isTrue();
        CheckoutRecord r = c.find(s.id()).getValue();
        assertThat(r.state()).isEqualTo(CheckoutState.CHECKED_IN);
        assertThat(r.checkins()).isEqualTo(1);
        assertThat(d.daemon().all().getFirst().inventory().vms().get("desk").snapshot("checkin-" + s.id().substring(3)
            + "-1")).isNotNull();
        assertThat(CheckinLog.marker(server.resolve(CheckoutRecords.DIR), s.id())).doesNotExist();
      }
    }
  }
}
