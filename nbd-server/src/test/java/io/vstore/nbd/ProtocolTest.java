package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Protocol behaviour checked byte by byte with {@link TestClient}. */
class ProtocolTest {
  private static final long SIZE = 16L << 20;
  private MemoryBlockDevice disk;
  private ExportRegistry registry;
  private NbdServer server;

  @BeforeEach
  void start() throws Exception {
    disk = new MemoryBlockDevice("disk", SIZE);
    registry = new ExportRegistry();
    registry.add(new Export("disk", "", disk, false, List.of(
        MetaContexts.dirtyBitmap("cbt", SIZE, (o, l) -> List.of(new ChangedAreas.Area(0, 8192))))));
    registry.add(new Export("ro", "", new MemoryBlockDevice("ro", SIZE), true, List.of()));
    server = NbdServer.start(registry, NbdServer.Options.loopback());
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
  }

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    new java.util.Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void writeReadAndSparseReadsWithStructuredReplies() throws Exception {
    try (TestClient c = TestClient.open(server.port(), "disk", true)) {
      assertThat(c.size).isEqualTo(SIZE);
      assertThat(c.transmissionFlags & Nbd.FLAG_CAN_MULTI_CONN).isNotZero();
      byte[] data = bytes(8192, 1);
      assertThat(c.command(Nbd.CMD_WRITE, Nbd.CMD_FLAG_FUA, 1, 1 << 20, data.length, data)).isZero();
      // A read spanning a hole, the data and another hole comes back as hole/data/hole chunks.
      TestClient.Reply r = c.read(2, (1 << 20) - 65536, 65536 + 8192 + 65536, 0);
      assertThat(r.error()).isZero();
      assertThat(Arrays.copyOfRange(r.data(), 65536, 65536 + 8192)).isEqualTo(data);
      assertThat(r.chunks()).extracting(TestClient.Chunk::type)
          .containsExactly(Nbd.REPLY_TYPE_OFFSET_HOLE, Nbd.REPLY_TYPE_OFFSET_DATA, Nbd.REPLY_TYPE_OFFSET_HOLE);
      assertThat(r.chunks().getLast().done()).isTrue();
      // With DF the same read is one data chunk.
      TestClient.Reply df = c.read(3, (1 << 20) - 65536, 65536 + 8192 + 65536, Nbd.CMD_FLAG_DF);
      assertThat(df.chunks()).extracting(TestClient.Chunk::type).containsExactly(Nbd.REPLY_TYPE_OFFSET_DATA);
      assertThat(df.data()).isEqualTo(r.data());
    }
  }

  @Test
  void simpleRepliesWithoutStructuredNegotiation() throws Exception {
    try (TestClient c = TestClient.open(server.port(), "disk", false)) {
      byte[] data = bytes(4096, 2);
      assertThat(c.command(Nbd.CMD_WRITE, 0, 1, 0, data.length, data)).isZero();
      TestClient.Reply r = c.read(2, 0, 4096, 0);
      assertThat(r.chunks().getFirst().type()).isEqualTo(-1);
      assertThat(r.data()).isEqualTo(data);
      assertThat(c.read(3, SIZE, 1, 0).error()).isEqualTo(Nbd.EINVAL);
      assertThat(c.read(4, 0, 4096, 0).data()).isEqualTo(data);
    }
  }

  @Test
  void badRequestsGetErrorsAndTheConnectionCarriesOn() throws Exception {
    try (TestClient c = TestClient.open(server.port(), "disk", true)) {
      assertThat(c.read(1, SIZE - 10, 11, 0).error()).isEqualTo(Nbd.EINVAL);
      assertThat(c.read(2, -1L, 1, 0).error()).isEqualTo(Nbd.EINVAL);
      byte[] payload = bytes(8192, 3);
      assertThat(c.command(Nbd.CMD_WRITE, 0, 3, SIZE - 4096, 8192, payload)).isEqualTo(Nbd.ENOSPC);
      // Over the 32 MiB maximum payload: the payload is consumed and refused.
      byte[] big = new byte[Nbd.MAX_PAYLOAD + 4096];
      assertThat(c.command(Nbd.CMD_WRITE, 0, 4, 0, big.length, big)).isEqualTo(Nbd.EINVAL);
      assertThat(c.read(5, 0, Nbd.MAX_PAYLOAD + 1, 0).error()).isEqualTo(Nbd.EINVAL);
      assertThat(c.command(99, 0, 6, 0, 0, null)).isEqualTo(Nbd.EINVAL);
      assertThat(c.command(Nbd.CMD_FLUSH, 1 << 9, 7, 0, 0, null)).isEqualTo(Nbd.EINVAL);
      assertThat(c.command(Nbd.CMD_WRITE_ZEROES, Nbd.CMD_FLAG_FAST_ZERO | Nbd.CMD_FLAG_NO_HOLE, 8, 0, 4096, null))
          .isEqualTo(Nbd.ENOTSUP);
      assertThat(c.command(Nbd.CMD_BLOCK_STATUS, 0, 9, 0, 4096, null)).isEqualTo(Nbd.EINVAL);
      assertThat(disk.allocatedPages()).isZero();
      byte[] ok = bytes(512, 4);
      assertThat(c.command(Nbd.CMD_WRITE, 0, 10, 0, ok.length, ok)).isZero();
      assertThat(c.read(11, 0, 512, 0).data()).isEqualTo(ok);
    }
  }

  @Test
  void readOnlyExportRefusesEveryWriteKind() throws Exception {
    try (TestClient c = TestClient.open(server.port(), "ro", true)) {
      assertThat(c.transmissionFlags & Nbd.FLAG_READ_ONLY).isNotZero();
      assertThat(c.command(Nbd.CMD_WRITE, 0, 1, 0, 4, new byte[4])).isEqualTo(Nbd.EPERM);
      assertThat(c.command(Nbd.CMD_TRIM, 0, 2, 0, 4096, null)).isEqualTo(Nbd.EPERM);
      assertThat(c.command(Nbd.CMD_WRITE_ZEROES, 0, 3, 0, 4096, null)).isEqualTo(Nbd.EPERM);
      assertThat(c.command(Nbd.CMD_FLUSH, 0, 4, 0, 0, null)).isZero();
      assertThat(c.read(5, 0, 4096, 0).error()).isZero();
    }
  }

  @Test
  void malformedHeadersCloseOnlyThatConnection() throws Exception {
    try (TestClient good = TestClient.open(server.port(), "disk", true)) {
      try (TestClient bad = TestClient.open(server.port(), "disk", true)) {
        bad.out.writeInt(0xdeadbeef);
        bad.out.write(new byte[24]);
        bad.out.flush();
        assertThat(bad.closedByServer()).isTrue();
      }
      try (TestClient badOption = new TestClient(server.port()).greet()) {
        badOption.out.writeLong(0x1234);
        badOption.out.writeLong(0);
        badOption.out.flush();
        assertThat(badOption.closedByServer()).isTrue();
      }
      try (TestClient badFlags = new TestClient(server.port())) {
        badFlags.in.skipNBytes(18);
        badFlags.out.writeInt(0x80);
        badFlags.out.flush();
        assertThat(badFlags.closedByServer()).isTrue();
      }
      assertThat(good.read(1, 0, 4096, 0).error()).isZero();
    }
  }

  @Test
  void negotiationErrorsAreRepliesNotDisconnects() throws Exception {
    try (TestClient c = new TestClient(server.port()).greet()) {
      assertThat(c.option(42, new byte[3]).getLast().type()).isEqualTo(Nbd.REP_ERR_UNSUP);
      assertThat(c.option(Nbd.OPT_GO, TestClient.goData("nope")).getLast().type()).isEqualTo(Nbd.REP_ERR_UNKNOWN);
      assertThat(c.option(Nbd.OPT_GO, new byte[] {0, 0, 0, 9, 1}).getLast().type()).isEqualTo(Nbd.REP_ERR_INVALID);
      assertThat(c.option(Nbd.OPT_LIST, new byte[1]).getLast().type()).isEqualTo(Nbd.REP_ERR_INVALID);
      assertThat(c.option(Nbd.OPT_STARTTLS, new byte[0]).getLast().type()).isEqualTo(Nbd.REP_ERR_POLICY);
      assertThat(c.option(Nbd.OPT_SET_META_CONTEXT, TestClient.metaData("disk", "base:allocation")).getLast().type())
          .as("meta contexts need structured replies first").isEqualTo(Nbd.REP_ERR_INVALID);
      List<TestClient.OptionReply> list = c.option(Nbd.OPT_LIST, new byte[0]);
      assertThat(list).hasSize(3);
      List<TestClient.OptionReply> info = c.option(Nbd.OPT_INFO, TestClient.goData("disk", Nbd.INFO_NAME, Nbd.INFO_BLOCK_SIZE));
      assertThat(info.getLast().type()).isEqualTo(Nbd.REP_ACK);
      assertThat(info).anySatisfy(r -> assertThat(ByteBuffer.wrap(r.data()).getShort()).isEqualTo((short) Nbd.INFO_BLOCK_SIZE));
      c.structuredReplies();
      List<TestClient.OptionReply> contexts = c.option(Nbd.OPT_LIST_META_CONTEXT, TestClient.metaData("disk"));
      assertThat(contexts).filteredOn(r -> r.type() == Nbd.REP_META_CONTEXT)
          .extracting(r -> new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8))
          .containsExactly("base:allocation", "qemu:allocation-depth", "qemu:dirty-bitmap:cbt");
      List<TestClient.OptionReply> bitmaps = c.option(Nbd.OPT_LIST_META_CONTEXT, TestClient.metaData("disk", "qemu:dirty-bitmap:", "x-unknown:foo"));
      assertThat(bitmaps).filteredOn(r -> r.type() == Nbd.REP_META_CONTEXT).hasSize(1);
      assertThat(c.option(Nbd.OPT_ABORT, new byte[0]).getLast().type()).isEqualTo(Nbd.REP_ACK);
      assertThat(c.closedByServer()).isTrue();
    }
  }

  @Test
  void blockStatusReportsEveryContextAndHonoursReqOne() throws Exception {
    disk.write(1 << 20, ByteBuffer.wrap(bytes(4096, 5)));
    try (TestClient c = new TestClient(server.port()).greet().structuredReplies()) {
      c.setMetaContext("disk", "base:allocation", "qemu:dirty-bitmap:cbt", "qemu:allocation-depth");
      assertThat(c.go("disk")).isEqualTo(Nbd.REP_ACK);
      c.send(Nbd.CMD_BLOCK_STATUS, 0, 1, 0, 2 << 20, null);
      TestClient.Reply r = c.readReply(1, 0);
      assertThat(r.chunks()).hasSize(3).allSatisfy(ch -> assertThat(ch.type()).isEqualTo(Nbd.REPLY_TYPE_BLOCK_STATUS));
      java.util.Map<Integer, List<long[]>> byId = new java.util.HashMap<>();
      for (TestClient.Chunk ch : r.chunks()) {
        ByteBuffer b = ByteBuffer.wrap(ch.data());
        int id = b.getInt();
        List<long[]> extents = new java.util.ArrayList<>();
        while (b.hasRemaining()) {
          extents.add(new long[] {Integer.toUnsignedLong(b.getInt()), b.getInt()});
        }
        byId.put(id, extents);
      }
      assertThat(byId.get(c.contextIds.get("base:allocation"))).containsExactly(
          new long[] {1 << 20, 3}, new long[] {4096, 0}, new long[] {(1 << 20) - 4096, 3});
      assertThat(byId.get(c.contextIds.get("qemu:dirty-bitmap:cbt"))).containsExactly(
          new long[] {8192, 1}, new long[] {(2 << 20) - 8192, 0});
      assertThat(byId.get(c.contextIds.get("qemu:allocation-depth"))).containsExactly(
          new long[] {1 << 20, 0}, new long[] {4096, 1}, new long[] {(1 << 20) - 4096, 0});
      c.send(Nbd.CMD_BLOCK_STATUS, Nbd.CMD_FLAG_REQ_ONE, 2, 0, 4096, null);
      for (TestClient.Chunk ch : c.readReply(2, 0).chunks()) {
        assertThat(ch.data()).hasSize(12);
        assertThat(ByteBuffer.wrap(ch.data()).getInt(4)).isEqualTo(4096);
      }
      assertThat(c.command(Nbd.CMD_BLOCK_STATUS, 0, 3, SIZE, 1, null)).isEqualTo(Nbd.EINVAL);
    }
  }

  @Test
  void metaContextsChosenForAnotherExportDoNotApply() throws Exception {
    try (TestClient c = new TestClient(server.port()).greet().structuredReplies()) {
      c.setMetaContext("ro", "base:allocation");
      assertThat(c.go("disk")).isEqualTo(Nbd.REP_ACK);
      assertThat(c.command(Nbd.CMD_BLOCK_STATUS, 0, 1, 0, 4096, null)).isEqualTo(Nbd.EINVAL);
    }
  }

  @Test
  void repliesGoOutOfOrderAndASlowClientStallsNoOne() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger blocked = new AtomicInteger();
    MemoryBlockDevice backing = new MemoryBlockDevice("gated", SIZE);
    backing.write(0, ByteBuffer.wrap(bytes(65536 + 4096, 8)));
    BlockDevice gated = new GatedDevice(backing, 0, release, blocked);
    registry.add(Export.of("gated", gated));
    try (TestClient slow = TestClient.open(server.port(), "gated", true);
        TestClient other = TestClient.open(server.port(), "gated", true)) {
      try {
        slow.send(Nbd.CMD_READ, 0, 1, 0, 4096, null); // blocks in the device
        slow.send(Nbd.CMD_READ, 0, 2, 8192, 4096, null);
        TestClient.Chunk first = slow.readChunk(4096);
        assertThat(first.cookie()).as("the later request is answered first").isEqualTo(2);
        assertThat(other.read(3, 65536, 4096, 0).error()).isZero();
        // The gated read may still be on its way to the device: the reply to cookie 2 can
        // overtake it before it starts, so wait for it to arrive rather than race it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (blocked.get() == 0 && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        assertThat(blocked.get()).isEqualTo(1);
      } finally {
        release.countDown(); // a failure above must not leave the server's close waiting forever
      }
      TestClient.Chunk second = slow.readChunk(4096);
      assertThat(second.cookie()).isEqualTo(1);
    }
  }

  @Test
  void aClientVanishingMidPayloadChangesNothing() throws Exception {
    try (TestClient c = TestClient.open(server.port(), "disk", true)) {
      c.send(Nbd.CMD_WRITE, 0, 1, 0, 65536, null);
      c.out.write(bytes(30000, 6));
      c.out.flush();
    }
    // The server notices the close, drops the half-received write, and the device stays empty.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.connectionCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(server.connectionCount()).isZero();
    assertThat(disk.allocatedPages()).isZero();
  }

  @Test
  void flushOnOneConnectionCoversWritesOfAnother() throws Exception {
    CountingDevice counting = new CountingDevice(new MemoryBlockDevice("counted", SIZE));
    registry.add(Export.of("counted", counting));
    try (TestClient a = TestClient.open(server.port(), "counted", true);
        TestClient b = TestClient.open(server.port(), "counted", true)) {
      assertThat(a.command(Nbd.CMD_WRITE, 0, 1, 0, 4096, bytes(4096, 7))).isZero();
      assertThat(b.command(Nbd.CMD_FLUSH, 0, 2, 0, 0, null)).isZero();
      assertThat(counting.writesBeforeLastFlush.get()).isEqualTo(1);
    }
  }

  @Test
  void removingAnExportDisconnectsItsClients() throws Exception {
    TestClient c = TestClient.open(server.port(), "disk", true);
    try (c) {
      assertThat(registry.remove("disk")).isPresent();
      assertThat(c.closedByServer()).isTrue();
    }
    assertThat(registry.find("disk")).isEmpty();
  }

  /** A device whose reads at {@code gateOffset} wait for a latch. */
  static final class GatedDevice extends Forwarding {
    private final long gateOffset;
    private final CountDownLatch release;
    private final AtomicInteger blocked;

    GatedDevice(BlockDevice d, long gateOffset, CountDownLatch release, AtomicInteger blocked) {
      super(d);
      this.gateOffset = gateOffset;
      this.release = release;
      this.blocked = blocked;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      if (offset == gateOffset) {
        blocked.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new IOException(e);
        }
      }
      super.read(offset, dst);
    }
  }

  /** Counts writes completed before the latest flush. */
  static final class CountingDevice extends Forwarding {
    final AtomicInteger writes = new AtomicInteger();
    final AtomicInteger writesBeforeLastFlush = new AtomicInteger();

    CountingDevice(BlockDevice d) {
      super(d);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      super.write(offset, src);
      writes.incrementAndGet();
    }

    @Override
    public void flush() throws IOException {
      writesBeforeLastFlush.set(writes.get());
      super.flush();
    }
  }

  /** Passes everything to another device. */
  abstract static class Forwarding implements BlockDevice {
    final BlockDevice d;

    Forwarding(BlockDevice d) {
      this.d = d;
    }

    @Override
    public long size() {
      return d.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      d.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      d.write(offset, src);
    }

    @Override
    public void flush() throws IOException {
      d.flush();
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
      d.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      d.discard(offset, length);
    }

    @Override
    public List<Extent> allocation(long offset, long length) throws IOException {
      return d.allocation(offset, length);
    }

    @Override
    public boolean isReadOnly() {
      return d.isReadOnly();
    }

    @Override
    public void close() throws IOException {
      d.close();
    }

    @Override
    public String toString() {
      return d.toString();
    }
  }

  @Test
  void clientsThatNeverFinishNegotiatingAreDropped() throws Exception {
    try (NbdServer quick = NbdServer.start(registry, NbdServer.Options.loopback().withHandshakeTimeout(java.time.Duration.ofMillis(300)));
        TestClient idle = new TestClient(quick.port()).greet();
        TestClient fine = TestClient.open(quick.port(), "disk", true)) {
      assertThat(idle.closedByServer()).isTrue();
      Thread.sleep(500);
      assertThat(fine.read(1, 0, 512, 0).error()).as("the deadline ends with negotiation").isZero();
    }
  }
}
