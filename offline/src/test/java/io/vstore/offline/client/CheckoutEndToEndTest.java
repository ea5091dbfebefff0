package io.vstore.offline.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.Policy;
import io.vstore.offline.server.Checkouts;
import io.vstore.offline.NoCommands;
import io.vstore.server.CommandRunner;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.TestDaemon;
import io.vstore.server.auth.Scope;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Check-out, run, write through NBD, check-in against a real daemon on one machine, compared byte
 * for byte with a model; interruptions, refusals and tampering, each leaving the server copy as it was.
 */
class CheckoutEndToEndTest {
  private static final long DISK0 = 72L << 20;
  private static final long DISK1 = 8L << 20;
  private static final char[] PASS = "correct horse".toCharArray();

  private static final CommandRunner NO_COMMANDS = NoCommands.RUNNER;

  @TempDir Path tmp;
  private TestDaemon daemon;
  private String token;
  private byte[][] model;

  @BeforeEach
  void start() throws Exception {
    daemon = TestDaemon.start(NO_COMMANDS, tmp.resolve("server"));
    Checkouts.install(daemon.daemon(), 4);
    token = daemon.daemon().tokens().create("alice", Scope.WRITE).secret();
    ManagedDatastore ds = daemon.daemon().all().getFirst();
    ds.inventory().vms().create("desk", List.of(DISK0, DISK1), JsonNodeFactory.instance.objectNode().put("cpus", 2));
    model = new byte[][] {new byte[(int) DISK0], new byte[(int) DISK1]};
    Random rnd = new Random(17);
    // disk 0: random data in scattered 1 MiB pieces (holes between), a compressible run; disk 1: one piece
    for (int i = 0; i < 24; i++) {
      int at = rnd.nextInt((int) (DISK0 >> 20)) << 20;
      byte[] piece = new byte[1 << 20];
      rnd.nextBytes(piece);
      System.arraycopy(piece, 0, model[0], at, piece.length);
    }
    Arrays.fill(model[0], 5 << 20, 9 << 20, (byte) 'x');
    rnd.nextBytes(Arrays.copyOfRange(model[1], 0, 1)); // keep rnd in step
    byte[] piece = new byte[300_000];
    rnd.nextBytes(piece);
    System.arraycopy(piece, 0, model[1], 4096, piece.length);
    writeServer("desk-disk0", 0, model[0]);
    writeServer("desk-disk1", 0, model[1]);
  }

  @AfterEach
  void stop() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
  }

  private void writeServer(String volume, long offset, byte[] data) throws IOException {
    Datastore store = daemon.daemon().all().getFirst().store();
    try (Volume v = store.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  private byte[] readServer(String volume) throws IOException {
    Datastore store = daemon.daemon().all().getFirst().store();
    try (Volume v = store.volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) v.size());
      v.read(0, b);
      return b.array();
    }
  }

  private static byte[] readCopy(Datastore store, String volume) throws IOException {
    try (Volume v = store.volume(volume, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) v.size());
      v.read(0, b);
      return b.array();
    }
  }

  private OfflineCopy.CheckoutReport checkout(Path dir) throws IOException {
    return OfflineCopy.checkout("desk", daemon.baseUrl(), token, null, dir, PASS, OfflineCopy.Progress.NONE);
  }

  @Test
  void checkOutWriteThroughNbdAndCheckInOnlyTheChanges() throws Exception {
    Path dir = tmp.resolve("laptop");
    OfflineCopy.CheckoutReport out = checkout(dir);
    assertThat(out.disks()).isEqualTo(2);
    long allocated = 25L << 20;
    assertThat(out.dataBytes()).isLessThanOrEqualTo(allocated + (4 << 20)); // allocated data only, not the holes
    try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now())) {
      assertThat(readCopy(copy.store(), "desk-disk0")).isEqualTo(model[0]);
      assertThat(readCopy(copy.store(), "desk-disk1")).isEqualTo(model[1]);
      assertThat(copy.config().path("cpus").asInt()).isEqualTo(2);
    }
    // The server copy is checked out: listed with who and since when.
    assertThat(daemon.tcp("GET", "/api/v1/checkouts", null, token).body()).contains("\"user\":\"alice\"")
        .contains("\"state\":\"OUT\"");

    List<long[]> writes = new ArrayList<>(); // offset, length, pattern
    writes.add(new long[] {0, 65536, 0xab});
    writes.add(new long[] {7 << 20, 1 << 20, 0x5c});
    writes.add(new long[] {DISK0 - 4096, 4096, 0x11});
    try (OfflineRun run = OfflineRun.start(dir, PASS, new InetSocketAddress("127.0.0.1", 0))) {
      int port = run.address().getPort();
      if (Files.isExecutable(Path.of("/usr/bin/qemu-io"))) {
        for (long[] w : writes) {
          qemuIo(port, "desk-disk0", "write -P " + w[2] + " " + w[0] + " " + w[1]);
        }
        qemuIo(port, "desk-disk1", "write -z 4096 65536");
      } else {
        // Without qemu-io the same writes go to the copy's volume directly (the NBD path is then untested).
        for (long[] w : writes) {
          byte[] b = new byte[(int) w[1]];
          Arrays.fill(b, (byte) w[2]);
          try (Volume v = run.copy().store().volume("desk-disk0")) {
            v.write(w[0], ByteBuffer.wrap(b));
            v.flush();
          }
        }
        try (Volume v = run.copy().store().volume("desk-disk1")) {
          v.writeZeroes(4096, 65536, true);
          v.flush();
        }
      }
    }
    for (long[] w : writes) {
      Arrays.fill(model[0], (int) w[0], (int) (w[0] + w[1]), (byte) w[2]);
    }
    Arrays.fill(model[1], 4096, 4096 + 65536, (byte) 0);
    long changed = 65536 + (1 << 20) + 4096 + 65536;

    OfflineCopy.CheckinReport in = OfflineCopy.checkin(dir, PASS, token, false, false);
    assertThat(in.changedBytes()).isEqualTo(changed);
    assertThat(in.bytesSent()).isLessThanOrEqualTo((long) (1.05 * changed) + (1 << 20));
    assertThat(in.state()).isEqualTo("CHECKED_IN");
    assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
    assertThat(readServer("desk-disk1")).isEqualTo(model[1]);
    assertThat(daemon.tcp("GET", "/api/v1/checkouts", null, token).body()).contains("\"state\":\"CHECKED_IN\"");
    // the copy is done: it no longer runs
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now())).hasMessageContaining("was checked in");
    // the VM can be checked out again
    OfflineCopy.CheckoutReport again = checkout(tmp.resolve("second"));
    assertThat(again.checkoutId()).isNotEqualTo(out.checkoutId());
  }

  @Test
  void keepCheckedOutSendsChangesTwiceAndKeepsTheLock() throws Exception {
    Path dir = tmp.resolve("laptop");
    checkout(dir);
    writeCopy(dir, "desk-disk0", 1 << 20, fill(8192, 1));
    OfflineCopy.CheckinReport first = OfflineCopy.checkin(dir, PASS, token, true, false);
    assertThat(first.changedBytes()).isEqualTo(8192);
    assertThat(first.state()).isEqualTo("OUT");
    writeCopy(dir, "desk-disk0", 2 << 20, fill(4096, 2));
    OfflineCopy.CheckinReport second = OfflineCopy.checkin(dir, PASS, token, false, false);
    assertThat(second.changedBytes()).isEqualTo(4096); // only what changed since the first check-in
    System.arraycopy(fill(8192, 1), 0, model[0], 1 << 20, 8192);
    System.arraycopy(fill(4096, 2), 0, model[0], 2 << 20, 4096);
    assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
  }

  @Test
  void aRunningCopyChecksInThroughItsOwnProcessAndKeepsServing() throws Exception {
    Path dir = tmp.resolve("laptop");
    checkout(dir);
    try (OfflineRun run = OfflineRun.start(dir, PASS, new InetSocketAddress("127.0.0.1", 0));
        Volume live = run.copy().store().volume("desk-disk0")) {
      live.write(3 << 20, ByteBuffer.wrap(fill(8192, 7)));
      live.flush();
      OfflineCopy.CheckinReport first = OfflineCopy.checkin(dir, PASS, token, true, false);
      assertThat(first.changedBytes()).isEqualTo(8192);
      System.arraycopy(fill(8192, 7), 0, model[0], 3 << 20, 8192);
      assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
      // the desktop kept running: it writes on, and the next check-in sends only that
      live.write(4 << 20, ByteBuffer.wrap(fill(4096, 8)));
      live.flush();
      assertThatThrownBy(() -> OfflineCopy.checkin(dir, "wrong".toCharArray(), token, false, false))
          .hasMessageContaining("wrong passphrase");
      OfflineCopy.CheckinReport second = OfflineCopy.checkin(dir, PASS, token, false, false);
      assertThat(second.changedBytes()).isEqualTo(4096);
      assertThat(second.state()).isEqualTo("CHECKED_IN");
      System.arraycopy(fill(4096, 8), 0, model[0], 4 << 20, 4096);
      assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
    }
    assertThat(dir.resolve(OfflineRun.CONTROL)).doesNotExist();
  }

  @Test
  void interruptedCheckOutResumesWithoutRefetchingWhatArrived() throws Exception {
    Path dir = tmp.resolve("laptop");
    assertThatThrownBy(() -> OfflineCopy.checkout("desk", daemon.baseUrl(), token, null, dir, PASS,
        (done, total, bytes) -> {
          if (done >= 2) {
            throw new InterruptedIOException("cable pulled after " + done + " of " + total + " units");
          }
        })).hasMessageContaining("cable pulled");
    assertThat(Files.size(dir.resolve(TransferProgress.FILE))).isGreaterThanOrEqualTo(32);
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now())).hasMessageContaining("has not finished");
    int[] units = new int[1];
    OfflineCopy.CheckoutReport r = OfflineCopy.checkout("desk", daemon.baseUrl(), token, null, dir, PASS,
        (done, total, bytes) -> units[0] = total);
    assertThat(r.resumed()).isTrue();
    assertThat(units[0]).isLessThanOrEqualTo(3 + 1 - 2); // 3 units of disk 0 and 1 of disk 1, at least 2 done before
    try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now())) {
      assertThat(readCopy(copy.store(), "desk-disk0")).isEqualTo(model[0]);
      assertThat(readCopy(copy.store(), "desk-disk1")).isEqualTo(model[1]);
    }
  }

  @Test
  void refusalsAreClearAndApplyNothing() throws Exception {
    daemon.daemon().all().getFirst().inventory().vms().snapshot("desk", "before", "");
    writeServer("desk-disk0", 50 << 20, fill(4096, 3));
    System.arraycopy(fill(4096, 3), 0, model[0], 50 << 20, 4096);
    Path dir = tmp.resolve("laptop");
    checkout(dir);
    // wrong passphrase
    assertThatThrownBy(() -> OfflineCopy.open(dir, "wrong".toCharArray(), Instant.now()))
        .hasMessageContaining("wrong passphrase");
    // clock set back before the last trusted time
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now().minus(Duration.ofDays(1))))
        .hasMessageContaining("set back");
    // too long without contact
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now().plus(Duration.ofDays(31))))
        .hasMessageContaining("no contact with the server");
    // after contact the clock's new high-water mark holds
    OfflineCopy.contact(dir, PASS, token);
    // the server copy is locked: writes are refused, reads work
    assertThatThrownBy(() -> writeServer("desk-disk0", 50 << 20, fill(4096, 3)))
        .hasMessageContaining("checked out by alice since");
    assertThat(readServer("desk-disk0")).isEqualTo(model[0]);
    // a changed server copy (here reverted to a snapshot older than the check-out) refuses the check-in unless forced
    writeCopy(dir, "desk-disk0", 0, fill(4096, 9));
    daemon.daemon().all().getFirst().inventory().vms().revert("desk", "before");
    model[0] = readServer("desk-disk0");
    assertThatThrownBy(() -> OfflineCopy.checkin(dir, PASS, token, false, false))
        .hasMessageContaining("changed since check-out");
    assertThat(Arrays.copyOfRange(readServer("desk-disk0"), 0, 4096)).isEqualTo(Arrays.copyOfRange(model[0], 0, 4096));
    // a revoked token: refused, nothing applied
    daemon.daemon().tokens().revoke("alice");
    assertThatThrownBy(() -> OfflineCopy.checkin(dir, PASS, token, false, true)).hasMessageContaining("refused the token");
    assertThat(Arrays.copyOfRange(readServer("desk-disk0"), 0, 4096)).isEqualTo(Arrays.copyOfRange(model[0], 0, 4096));
    // tampering with the manifest (here: the server's URL) is detected
    Path manifest = dir.resolve(Manifest.FILE);
    String text = Files.readString(manifest);
    Files.writeString(manifest, text.replace("127.0.0.1", "127.0.0.2"));
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now())).hasMessageContaining("tampered");
    Files.writeString(manifest, text);
    // a forced check-in with a valid token overwrites the changed ranges it sends, nothing else
    String admin = daemon.adminToken();
    OfflineCopy.CheckinReport forced = OfflineCopy.checkin(dir, PASS, admin, false, true);
    assertThat(forced.changedBytes()).isEqualTo(4096);
    byte[] now = readServer("desk-disk0");
    assertThat(Arrays.copyOfRange(now, 0, 4096)).isEqualTo(fill(4096, 9));
    // what the revert brought back elsewhere stays: only the sent ranges were overwritten
    assertThat(Arrays.copyOfRange(now, 4096, now.length)).isEqualTo(Arrays.copyOfRange(model[0], 4096, now.length));
    // the lock is gone with the check-in
    writeServer("desk-disk0", 60 << 20, fill(4096, 4));
  }

  @Test
  void expiredPolicyRefusesToRun() throws Exception {
    ManagedDatastore ds = daemon.daemon().all().getFirst();
    String past = Instant.now().plus(Duration.ofHours(1)).toString();
    daemon.tcp("PUT", "/api/v1/checkout-policies/desk", "{\"mayCheckOut\":true,\"mayCheckIn\":true,"
        + "\"mayRollBack\":true,\"maxDaysOffline\":0,\"expires\":\"" + past + "\",\"replicationIntervalHours\":0}",
        daemon.adminToken());
    Path dir = tmp.resolve("laptop");
    checkout(dir);
    assertThat(ds.path().resolve("checkouts/policy-desk.json")).exists();
    try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now())) {
      assertThat(copy.policy().policy().expires()).isEqualTo(past);
      assertThat(copy.policy().policy().maxDaysOffline()).isEqualTo(30); // the global limit still applies
    }
    assertThatThrownBy(() -> OfflineCopy.open(dir, PASS, Instant.now().plus(Duration.ofHours(2))))
        .hasMessageContaining("expired");
    // a VM policy forbidding check-out
    daemon.tcp("PUT", "/api/v1/checkout-policies/desk", "{\"mayCheckOut\":false,\"mayCheckIn\":true,"
        + "\"mayRollBack\":true,\"maxDaysOffline\":0,\"replicationIntervalHours\":0}", daemon.adminToken());
    OfflineCopy.rollback(dir, PASS, token);
    assertThatThrownBy(() -> checkout(tmp.resolve("other"))).hasMessageContaining("does not allow checking it out");
  }

  @Test
  void fiftyConcurrentTransfersShareFourSlots() throws Exception {
    Path dir = tmp.resolve("laptop");
    checkout(dir);
    String id = Manifest.read(dir).checkoutId();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    int[] ok = new int[1];
    for (int i = 0; i < 50; i++) {
      long off = (long) (i % 2) * OfflineCopy.UNIT;
      threads.add(Thread.ofVirtual().start(() -> {
        try (ServerConnection c = new ServerConnection(daemon.baseUrl(), token, null);
            var in = c.get("/api/v1/checkouts/" + id + "/disks/0/data?offset=" + off + "&length=" + OfflineCopy.UNIT)) {
          io.vstore.offline.FrameReader r = new io.vstore.offline.FrameReader(in, "test");
          while (r.next() != null) {
            // every frame checked
          }
          synchronized (ok) {
            ok[0]++;
          }
        } catch (Throwable t) {
          failures.add(t);
        }
      }));
    }
    for (Thread t : threads) {
      assertThat(t.join(Duration.ofMinutes(5))).isTrue();
    }
    assertThat(failures).isEmpty();
    assertThat(ok[0]).isEqualTo(50);
  }

  private static byte[] fill(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  private static void writeCopy(Path dir, String volume, long offset, byte[] data) throws IOException {
    try (OfflineCopy.Opened copy = OfflineCopy.open(dir, PASS, Instant.now()); Volume v = copy.store().volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  private static void qemuIo(int port, String export, String command) throws Exception {
    Process p = new ProcessBuilder("qemu-io", "-f", "raw", "-c", command, "nbd://127.0.0.1:" + port + "/" + export)
        .redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
  }
}
