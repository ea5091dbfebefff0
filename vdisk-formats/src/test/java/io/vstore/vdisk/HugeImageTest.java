package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 TiB images holding three 4 KiB blocks (first, middle, last): conversions cost what is
 * allocated, not the virtual size, and the bytes and the allocation come out the same.
 */
final class HugeImageTest {
  private static final long SIZE = 64L << 40;
  private static final long[] BLOCKS = {0, SIZE / 2 + (7 << 12), SIZE - 4096};

  @TempDir Path dir;

  /** Block {@code i}'s content: filled with one byte, so that qemu-io can check it too. */
  private static ByteBuffer block(int i) {
    byte[] b = new byte[4096];
    java.util.Arrays.fill(b, pattern(i));
    return ByteBuffer.wrap(b);
  }

  private static byte pattern(int i) {
    return (byte) (0x41 + i);
  }

  /** Checks the three blocks (and the block before the middle one) with qemu-io, a reader of our own making. */
  private static void assertThreeBlocksWithQemu(Path image, String format) throws Exception {
    List<String> command = new java.util.ArrayList<>(List.of("qemu-io", "-r", "-f", format));
    for (int i = 0; i < BLOCKS.length; i++) {
      command.addAll(List.of("-c", "read -P " + pattern(i) + " " + BLOCKS[i] + " 4k"));
    }
    command.addAll(List.of("-c", "read -P 0 " + (BLOCKS[1] - 4096) + " 4k", image.toString()));
    String out = QemuTool.ok(command.toArray(String[]::new));
    assertThat(out).doesNotContain("Pattern verification failed");
  }

  private Path qcow2Source() throws IOException {
    Path src = dir.resolve("src.qcow2");
    try (DiskImage d = ImageFormats.create(src, "qcow2", SIZE, CreateOptions.none())) {
      for (int i = 0; i < BLOCKS.length; i++) {
        d.write(BLOCKS[i], block(i));
      }
    }
    return src;
  }

  private static void assertThreeBlocks(BlockDevice d) throws IOException {
    assertThreeBlocks(d, 0, SIZE);
  }

  /** Checks the three blocks' bytes, and that {@code [from, to)} holds data only around them. */
  private static void assertThreeBlocks(BlockDevice d, long from, long to) throws IOException {
    assertThat(d.size()).isEqualTo(SIZE);
    for (int i = 0; i < BLOCKS.length; i++) {
      ByteBuffer got = ByteBuffer.allocate(4096);
      d.read(BLOCKS[i], got);
      assertThat(got.flip()).as("block at %d", BLOCKS[i]).isEqualTo(block(i));
    }
    ByteBuffer zeros = ByteBuffer.allocate(4096);
    d.read(BLOCKS[1] - 4096, zeros);
    assertThat(zeros.array()).containsOnly(0);
    long data = 0;
    for (Extent e : d.allocation(from, to - from)) {
      if (!e.kind().readsAsZeros()) {
        data += e.length();
        assertThat(java.util.Arrays.stream(BLOCKS).anyMatch(b -> b >= e.offset() && b < e.end())).as("%s", e).isTrue();
      }
    }
    // Formats report whole clusters or blocks (vhdx: 64 MiB at this size).
    long expected = java.util.Arrays.stream(BLOCKS).filter(b -> b >= from && b < to).count();
    assertThat(data).isBetween(expected * 4096, expected * (256 << 20));
  }

  /** A pass-through device that counts allocation queries. */
  private record Counting(BlockDevice d, AtomicLong queries) implements BlockDevice {
    @Override public long size() {
      return d.size();
    }
    @Override public void read(long offset, ByteBuffer dst) throws IOException {
      d.read(offset, dst);
    }
    @Override public void write(long offset, ByteBuffer src) throws IOException {
      d.write(offset, src);
    }
    @Override public void flush() throws IOException {
      d.flush();
    }
    @Override public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
      d.writeZeroes(offset, length, mayUnmap);
    }
    @Override public void discard(long offset, long length) throws IOException {
      d.discard(offset, length);
    }
    @Override public List<Extent> allocation(long offset, long length) throws IOException {
      queries.incrementAndGet();
      return d.allocation(offset, length);
    }
    @Override public boolean isReadOnly() {
      return d.isReadOnly();
    }
    @Override public void close() throws IOException {
      d.close();
    }
  }

  @Test
  void copyingASparse64TiBImageAsksForTheAllocationOfWindowsNotOfEveryChunk() throws Exception {
    Path src = qcow2Source();
    Path out = dir.resolve("out.qcow2");
    AtomicLong queries = new AtomicLong();
    AtomicLong lastProgress = new AtomicLong();
    ImageConversion.Result r;
    try (DiskImage s = ImageFormats.open(src, true);
        DiskImage o = ImageFormats.create(out, "qcow2", SIZE, CreateOptions.none())) {
      r = ImageConversion.copy(new Counting(s, queries), o, 4, 65536, false,
          done -> lastProgress.accumulateAndGet(done, Math::max));
    }
    // One query per 2 MiB chunk would be 32 Mi; windows that double over holes need a few thousand.
    assertThat(queries.get()).isLessThan(10_000);
    assertThat(lastProgress.get()).isEqualTo(SIZE);
    assertThat(r.bytesWritten()).isEqualTo(3L * 65536);
    try (DiskImage o = ImageFormats.open(out, true)) {
      assertThreeBlocks(o);
    }
    QemuTool.assertCheckClean(out, "qcow2");
  }

  @Test
  void aSparse64TiBQcow2ConvertsToQcow2VhdxAndVmdk() throws Exception {
    Path src = qcow2Source();
    for (String format : List.of("qcow2", "vhdx", "vmdk")) {
      Path out = dir.resolve("out." + format);
      ImageConversion.convert(src, null, out, format, CreateOptions.none());
      // What the file takes on disk (vmdk's preallocated grain tables are 8 GiB long, as qemu's, but sparse).
      java.util.regex.Matcher actual = java.util.regex.Pattern.compile("\"actual-size\": (\\d+)")
          .matcher(QemuTool.ok("qemu-img", "info", "--output=json", "-f", format, out.toString()));
      assertThat(actual.find()).as(format).isTrue();
      assertThat(Long.parseLong(actual.group(1))).as(format).isLessThan(64L << 20);
      try (DiskImage o = ImageFormats.open(out, true)) {
        if (format.equals("vmdk")) {
          // Its 2 Mi preallocated grain tables (4 GiB of zeros in a sparse file) take long to read
          // whole, for qemu too: look at the last 1 TiB only.
          assertThreeBlocks(o, SIZE - (1L << 40), SIZE);
        } else {
          assertThreeBlocks(o);
        }
      }
      assertThreeBlocksWithQemu(out, format);
      if (!format.equals("vmdk")) {
        QemuTool.assertCheckClean(out, format); // qemu-img check reads all of a 64 TiB vmdk's grain tables: minutes
      }
    }
  }

  @Test
  void aSparse64TiBQcow2ConvertsToASparseRawFileWhereTheFileSystemAllowsIt() throws Exception {
    Path src = qcow2Source();
    // ext4 (this machine's disk) caps files at 16 TiB; tmpfs takes 64 TiB sparse files.
    Path shm = Path.of("/dev/shm");
    Path out = (Files.isDirectory(shm) ? Files.createTempDirectory(shm, "vstore-huge") : dir).resolve("out.raw");
    try {
      ImageConversion.convert(src, null, out, "raw", CreateOptions.none());
      assertThat(Files.size(out)).isEqualTo(SIZE);
      try (DiskImage o = ImageFormats.open(out, true)) {
        assertThreeBlocks(o);
      }
    } finally {
      Files.deleteIfExists(out);
      if (!out.getParent().equals(dir)) {
        Files.deleteIfExists(out.getParent());
      }
    }
  }
}
