package io.vstore.blockstore.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every writable {@link BlockDevice} must show. A subclass supplies fresh devices
 * and, where the device is persistent, a way to close and reopen one.
 */
public abstract class BlockDeviceContract {
  private final List<BlockDevice> opened = new ArrayList<>();

  /** Creates a fresh, empty, writable device of {@code size} bytes. */
  protected abstract BlockDevice create(long size) throws IOException;

  /** Closes {@code device} and opens it again; devices that do not persist return it as is. */
  protected BlockDevice reopen(BlockDevice device) throws IOException {
    return device;
  }

  /** Returns the size the tests use; a multiple of 64 KiB. */
  protected long deviceSize() {
    return 8L << 20;
  }

  /** Returns the smallest unit whose allocation the device reports (holes are at least this). */
  protected int allocationGranularity() {
    return 4096;
  }

  private BlockDevice open() throws IOException {
    BlockDevice d = create(deviceSize());
    opened.add(d);
    return d;
  }

  private BlockDevice track(BlockDevice d) {
    opened.add(d);
    return d;
  }

  @AfterEach
  void closeAll() throws IOException {
    for (BlockDevice d : opened) {
      d.close();
    }
  }

  protected static byte[] random(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  protected static byte[] read(BlockDevice d, long offset, int n) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(n);
    d.read(offset, buf);
    assertThat(buf.hasRemaining()).isFalse();
    return buf.array();
  }

  /** Asserts that every byte of the device equals the model's, and that allocation agrees. */
  protected static void assertSameContent(BlockDevice actual, MemoryBlockDevice model) throws IOException {
    long size = actual.size();
    int chunk = 1 << 20;
    for (long pos = 0; pos < size; pos += chunk) {
      int n = (int) Math.min(chunk, size - pos);
      assertSameBytes(read(actual, pos, n), read(model, pos, n), actual + " at " + pos);
    }
    assertAllocationConsistent(actual, 0, size);
  }

  /** Asserts equal arrays, naming the first differing index instead of printing both arrays. */
  protected static void assertSameBytes(byte[] actual, byte[] expected, String what) {
    int at = java.util.Arrays.mismatch(actual, expected);
    assertThat(at).as("%s: first difference at byte %d of %d (actual %s, expected %s)", what, at, expected.length,
        at >= 0 && at < actual.length ? actual[at] : "-", at >= 0 && at < expected.length ? expected[at] : "-").isEqualTo(-1);
  }

  /** Asserts that allocation() covers the range exactly and that ZERO/HOLE ranges read zeros. */
  protected static void assertAllocationConsistent(BlockDevice d, long offset, long length) throws IOException {
    List<Extent> extents = d.allocation(offset, length);
    long pos = offset;
    Extent previous = null;
    for (Extent e : extents) {
      assertThat(e.offset()).as("extents contiguous").isEqualTo(pos);
      if (previous != null) {
        assertThat(e.kind()).as("neighbours merged at %d", e.offset()).isNotEqualTo(previous.kind());
      }
      if (e.kind().readsAsZeros()) {
        for (long p = e.offset(); p < e.end(); p += 1 << 20) {
          int n = (int) Math.min(1 << 20, e.end() - p);
          assertThat(read(d, p, n)).as("%s reported %s at %d", d, e.kind(), p).containsOnly(0);
        }
      }
      pos = e.end();
      previous = e;
    }
    assertThat(pos).as("extents cover the range").isEqualTo(offset + length);
  }

  @Test
  void unwrittenBytesReadAsZerosAndAreHoles() throws IOException {
    BlockDevice d = open();
    assertThat(read(d, 0, 65536)).containsOnly(0);
    assertThat(d.allocation(0, d.size()))
        .allSatisfy(e -> assertThat(e.kind().readsAsZeros()).isTrue());
  }

  @Test
  void writeThenReadAtUnalignedPositions() throws IOException {
    BlockDevice d = open();
    MemoryBlockDevice model = new MemoryBlockDevice("model", d.size());
    Random r = new Random(1);
    for (int i = 0; i < 50; i++) {
      int n = 1 + r.nextInt(20000);
      long off = r.nextLong(d.size() - n);
      byte[] data = random(r, n);
      d.write(off, ByteBuffer.wrap(data));
      model.write(off, ByteBuffer.wrap(data));
    }
    assertSameContent(d, model);
  }

  @Test
  void writeAdvancesBufferAndHonoursPositionAndLimit() throws IOException {
    BlockDevice d = open();
    byte[] data = random(new Random(2), 10000);
    ByteBuffer src = ByteBuffer.wrap(data, 100, 5000);
    d.write(4096, src);
    assertThat(src.position()).isEqualTo(5100);
    ByteBuffer dst = ByteBuffer.allocateDirect(7000).position(1000).limit(6000);
    d.read(4096, dst);
    assertThat(dst.position()).isEqualTo(6000);
    byte[] got = new byte[5000];
    dst.position(1000);
    dst.get(got);
    assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(data, 100, 5100));
  }

  @Test
  void oneByteFragmentsReadBackTheSame() throws IOException {
    BlockDevice d = open();
    byte[] data = random(new Random(3), 9000);
    for (int i = 0; i < data.length; i++) {
      d.write(70000 + i, ByteBuffer.wrap(data, i, 1));
    }
    byte[] back = new byte[data.length];
    for (int i = 0; i < data.length; i += 7) {
      ByteBuffer b = ByteBuffer.wrap(back, i, Math.min(7, data.length - i));
      d.read(70000 + i, b);
    }
    assertThat(back).isEqualTo(data);
  }

  @Test
  void blockSizesFrom512BytesTo64KiB() throws IOException {
    BlockDevice d = open();
    MemoryBlockDevice model = new MemoryBlockDevice("model", d.size());
    Random r = new Random(4);
    long pos = 0;
    for (int bs = 512; bs <= 65536; bs *= 2) {
      byte[] data = random(r, bs * 3);
      d.write(pos, ByteBuffer.wrap(data));
      model.write(pos, ByteBuffer.wrap(data));
      pos += data.length + bs;
    }
    assertSameContent(d, model);
  }

  @Test
  void rangesOutsideTheDeviceAreRefused() throws IOException {
    BlockDevice d = open();
    long size = d.size();
    assertThatThrownBy(() -> d.read(size - 10, ByteBuffer.allocate(11))).isInstanceOf(OutOfRangeException.class)
        .hasMessageContaining(d.toString());
    assertThatThrownBy(() -> d.write(size, ByteBuffer.allocate(1))).isInstanceOf(OutOfRangeException.class);
    assertThatThrownBy(() -> d.write(-1, ByteBuffer.allocate(1))).isInstanceOf(OutOfRangeException.class);
    assertThatThrownBy(() -> d.writeZeroes(size - 4096, 8192, true)).isInstanceOf(OutOfRangeException.class);
    assertThatThrownBy(() -> d.discard(0, size + 1)).isInstanceOf(OutOfRangeException.class);
    assertThatThrownBy(() -> d.allocation(size, 1)).isInstanceOf(OutOfRangeException.class);
    d.read(size, ByteBuffer.allocate(0));
    assertThat(read(d, 0, 4096)).containsOnly(0);
  }

  @Test
  void writeZeroesAndDiscardReadBackAsZeros() throws IOException {
    BlockDevice d = open();
    MemoryBlockDevice model = new MemoryBlockDevice("model", d.size());
    Random r = new Random(5);
    byte[] data = random(r, 1 << 20);
    d.write(0, ByteBuffer.wrap(data));
    model.write(0, ByteBuffer.wrap(data));
    d.writeZeroes(1000, 70000, false);
    model.writeZeroes(1000, 70000, false);
    d.writeZeroes(200000, 300000, true);
    model.writeZeroes(200000, 300000, true);
    d.discard(600000, 131072);
    model.discard(600000, 131072);
    assertSameContent(d, model);
    d.flush();
    BlockDevice again = track(reopen(d));
    assertSameContent(again, model);
  }

  @Test
  void discardedWholeBlocksAreNotReportedAsData() throws IOException {
    BlockDevice d = open();
    int g = Math.max(allocationGranularity(), 65536);
    d.write(0, ByteBuffer.wrap(random(new Random(6), 4 * g)));
    d.discard(g, 2L * g);
    List<Extent> extents = d.allocation(g, 2L * g);
    assertThat(extents).allSatisfy(e -> assertThat(e.kind().readsAsZeros()).isTrue());
    assertThat(d.allocation(0, g)).extracting(Extent::kind).containsExactly(Extent.Kind.DATA);
  }

  @Test
  void flushedDataSurvivesReopen() throws IOException {
    BlockDevice d = open();
    MemoryBlockDevice model = new MemoryBlockDevice("model", d.size());
    Random r = new Random(7);
    for (int i = 0; i < 30; i++) {
      int n = 512 * (1 + r.nextInt(300));
      long off = 512L * r.nextLong((d.size() - n) / 512);
      byte[] data = random(r, n);
      d.write(off, ByteBuffer.wrap(data));
      model.write(off, ByteBuffer.wrap(data));
    }
    d.flush();
    BlockDevice again = track(reopen(d));
    assertSameContent(again, model);
  }

  @Test
  void closeIsIdempotent() throws IOException {
    BlockDevice d = create(deviceSize());
    d.close();
    d.close();
  }

  @Test
  void concurrentWritersToDisjointRangesAllLand() throws Exception {
    BlockDevice d = open();
    int threads = 8;
    int slice = (int) (d.size() / threads);
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<byte[]>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        results.add(pool.submit(() -> {
          Random r = new Random(100 + id);
          byte[] mine = new byte[slice];
          for (int i = 0; i < 200; i++) {
            int n = 512 * (1 + r.nextInt(16));
            int off = 512 * r.nextInt((slice - n) / 512);
            byte[] data = random(r, n);
            System.arraycopy(data, 0, mine, off, n);
            d.write((long) id * slice + off, ByteBuffer.wrap(data));
            if (i % 10 == 0) {
              assertThat(read(d, (long) id * slice + off, n)).isEqualTo(data);
            }
          }
          return mine;
        }));
      }
      for (int t = 0; t < threads; t++) {
        byte[] expected = results.get(t).get(); // wait for the writer before reading its slice
        assertSameBytes(read(d, (long) t * slice, slice), expected, "slice " + t);
      }
    }
  }
}
