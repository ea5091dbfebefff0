package io.vstore.vdisk.qcow2;

import static io.vstore.vdisk.QemuTool.assertCheckClean;
import static io.vstore.vdisk.QemuTool.ok;
import static io.vstore.vdisk.QemuTool.qemuIo;
import static io.vstore.vdisk.QemuTool.rawContent;
import static io.vstore.vdisk.DeviceBytes.readAll;
import static io.vstore.vdisk.DeviceBytes.assertSameBytes;
import static io.vstore.vdisk.DeviceBytes.assertAllocationReadsTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** qcow2 against the real qemu-img and qemu-io: each reads what the other writes. */
class Qcow2QemuInteropTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "cluster_size={0} compat={1}")
  @CsvSource({"512,1.1", "512,0.10", "4096,1.1", "65536,0.10", "65536,1.1", "2097152,1.1"})
  void imagesWrittenByQemuIoReadBackAsQemuReadsThem(int clusterSize, String compat) throws Exception {
    Path img = dir.resolve("q.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize + ",compat=" + compat,
        img.toString(), "9M");
    qemuIo(img, "qcow2", "write -P 0xab 0 100k", "write -P 0x5c 1000000 3000", "write -P 0x33 2M 1M",
        "write -z 2200k 256k", "write -P 0x11 4M 1M", "discard 4M 64k", "write -P 0x7e 9436160 1024",
        "write -P 0x01 6M 4096", "write -z 6M 4096");
    byte[] expected = rawContent(img, "qcow2", dir);
    try (DiskImage d = ImageFormats.open(img, true)) {
      assertThat(d.info().format()).isEqualTo("qcow2");
      assertThat(d.info().clusterSize()).isEqualTo(clusterSize);
      byte[] actual = readAll(d);
      assertSameBytes(actual, expected, img.toString());
      assertAllocationReadsTrue(d, actual);
      // odd fragments straddling cluster edges
      Random r = new Random(clusterSize);
      for (int i = 0; i < 200; i++) {
        int n = 1 + r.nextInt(3 * clusterSize);
        long off = r.nextLong(d.size() - n);
        ByteBuffer b = ByteBuffer.allocate(n);
        d.read(off, b);
        assertSameBytes(b.array(), Arrays.copyOfRange(expected, (int) off, (int) off + n), "fragment at " + off);
      }
    }
    CheckResult c = new Qcow2Format().check(img);
    assertThat(c.corruptions()).isEmpty();
    assertThat(c.leaks()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"zlib", "zstd"})
  void compressedImagesWrittenByQemuReadBack(String compression) throws Exception {
    Path raw = dir.resolve("src.raw");
    writePatternedRaw(raw, 6 << 20);
    Path img = dir.resolve("c.qcow2");
    ok("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=" + compression,
        raw.toString(), img.toString());
    try (DiskImage d = ImageFormats.open(img, true)) {
      assertSameBytes(readAll(d), Files.readAllBytes(raw), img.toString());
    }
  }

  /** Random, text-like and zero regions: compressible and not. */
  static void writePatternedRaw(Path raw, int size) throws IOException {
    Random r = new Random(size);
    byte[] all = new byte[size];
    for (int pos = 0; pos < size; pos += 65536) {
      switch ((pos / 65536) % 4) {
        case 0 -> { } // zeros
        case 1 -> { } // zeros too: half the image
        default -> {
          if ((pos / 65536) % 3 == 0) {
            byte[] rnd = new byte[65536];
            r.nextBytes(rnd);
            System.arraycopy(rnd, 0, all, pos, 65536);
          } else {
            byte[] text = ("line " + pos + " the quick brown fox jumps over the lazy dog\n").repeat(2000).getBytes();
            System.arraycopy(text, 0, all, pos, 65536);
          }
        }
      }
    }
    Files.write(raw, all);
  }

  @ParameterizedTest(name = "cluster_size={0} compat={1} refcount_bits={2}")
  @CsvSource({"512,1.1,16", "512,0.10,16", "4096,1.1,1", "65536,1.1,16", "65536,0.10,16", "65536,1.1,64",
      "2097152,1.1,8", "1024,1.1,2"})
  void imagesWrittenByVstorePassQemuCheckAndCompare(int clusterSize, String compat, int refcountBits)
      throws Exception {
    Path img = dir.resolve("v.qcow2");
    long size = 12L << 20;
    MemoryBlockDevice model = new MemoryBlockDevice("model", size);
    Random r = new Random(clusterSize * 31L + refcountBits);
    try (DiskImage d = ImageFormats.create(img, "qcow2", size, new CreateOptions(
        Map.of("cluster_size", Integer.toString(clusterSize), "compat", compat,
            "refcount_bits", Integer.toString(refcountBits)), null, null))) {
      for (int i = 0; i < 300; i++) {
        int op = r.nextInt(10);
        int n = 1 + r.nextInt(op < 7 ? 70000 : 600000);
        long off = r.nextLong(size - n);
        ModelOps.apply(d, model, r, op, 7, off, n);
      }
    }
    ModelOps.assertQemuAccepts(img, model, dir.resolve("expected.raw"));
  }

  @ParameterizedTest
  @CsvSource({"zlib,65536", "zstd,65536", "zlib,4096", "zlib,2097152", "zstd,512"})
  void compressedConversionByVstorePassesQemu(String compression, int clusterSize) throws Exception {
    Path raw = dir.resolve("src.raw");
    writePatternedRaw(raw, 8 << 20);
    Path img = dir.resolve("c.qcow2");
    ImageConversion.convert(raw, "raw", img, "qcow2", new CreateOptions(
        Map.of("compress", "on", "compression_type", compression, "cluster_size", Integer.toString(clusterSize)),
        null, null));
    assertCheckClean(img, "qcow2");
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", img.toString(), raw.toString());
    Path plain = dir.resolve("plain.qcow2");
    ImageConversion.convert(raw, "raw", plain, "qcow2", new CreateOptions(
        Map.of("cluster_size", Integer.toString(clusterSize)), null, null));
    assertThat(Files.size(img)).isLessThan(Files.size(plain));
    try (DiskImage d = ImageFormats.open(img, false)) {
      // overwriting compressed clusters partly and wholly releases their shares of host clusters
      d.write(65536 + 100, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      d.writeZeroes(3 * 65536, 2 * 65536, true);
    }
    assertCheckClean(img, "qcow2");
  }

  @Test
  void chainWrittenByQemuReadsBackThroughVstore() throws Exception {
    Path base = dir.resolve("base.qcow2");
    Path mid = dir.resolve("mid.qcow2");
    Path top = dir.resolve("top.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "8M");
    qemuIo(base, "qcow2", "write -P 0x11 0 4M");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.qcow2", "-F", "qcow2",
        mid.toString());
    qemuIo(mid, "qcow2", "write -P 0x22 1M 1M", "write -z 3M 64k");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-b", mid.toString(), "-F", "qcow2", top.toString(), "10M");
    qemuIo(top, "qcow2", "write -P 0x33 1536k 4k", "write -z 0 64k", "discard 2M 128k", "write -P 0x44 9M 4k");
    byte[] expected = rawContent(top, "qcow2", dir);
    try (DiskImage d = ImageFormats.open(top, true)) {
      assertThat(ImageFormats.chain(d)).hasSize(3);
      byte[] actual = readAll(d);
      assertSameBytes(actual, expected, "chain");
      assertAllocationReadsTrue(d, actual);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.1", "0.10"})
  void overlayWrittenByVstoreOverQemuBasePassesQemu(String compat) throws Exception {
    Path base = dir.resolve("base.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "8M");
    qemuIo(base, "qcow2", "write -P 0x5a 0 8M");
    Path top = dir.resolve("top.qcow2");
    byte[] model = rawContent(base, "qcow2", dir);
    Map<String, String> o = new HashMap<>(Map.of("compat", compat, "cluster_size", "4096"));
    try (DiskImage d = ImageFormats.create(top, "qcow2", -1, new CreateOptions(o, "base.qcow2", null))) {
      assertThat(d.size()).isEqualTo(8L << 20);
      byte[] data = new byte[10000];
      new Random(3).nextBytes(data);
      d.write(5000, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, 5000, data.length);
      d.writeZeroes(100000, 300000, true);
      Arrays.fill(model, 100000, 400000, (byte) 0);
      d.discard(1 << 20, 1 << 20);
      Arrays.fill(model, 1 << 20, 2 << 20, (byte) 0);
      d.writeZeroes(3 << 20, 5000, false);
      Arrays.fill(model, 3 << 20, (3 << 20) + 5000, (byte) 0);
    }
    assertCheckClean(top, "qcow2");
    Path expected = dir.resolve("expected.raw");
    Files.write(expected, model);
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", top.toString(), expected.toString());
    String info = ok("qemu-img", "info", "--backing-chain", top.toString());
    assertThat(info).contains("backing file: base.qcow2").contains("backing file format: qcow2");
  }

  @Test
  void unknownIncompatibleFeaturesAreRefused() throws Exception {
    Path unk = dir.resolve("unk.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", unk.toString(), "1M");
    try (RandomAccessFile f = new RandomAccessFile(unk.toFile(), "rw")) {
      f.seek(72);
      f.writeLong(1L << 9);
    }
    assertThatThrownBy(() -> ImageFormats.open(unk, true)).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("incompatible feature bit 9");
  }

  @Test
  void dirtyImagesAreReadAsTheyAreAndRepairedBeforeWriting() throws Exception {
    Path img = dir.resolve("dirty.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", img.toString(), "1M");
    qemuIo(img, "qcow2", "write -P 0x42 0 64k", "write -P 0x43 512k 128k");
    // what a killed qemu with lazy refcounts leaves: the dirty bit, refcounts not counting new clusters
    long rtOffset;
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.seek(72);
      f.writeLong(1L);
      f.seek(48);
      rtOffset = f.readLong();
      f.seek(rtOffset);
      long block = f.readLong();
      long last = (f.length() - 1) / 65536;
      f.seek(block + 2 * last);
      f.writeShort(0);
    }
    try (DiskImage d = ImageFormats.open(img, true)) {
      assertThat(d.info().details()).containsEntry("dirty", true);
      ByteBuffer b = ByteBuffer.allocate(4);
      d.read(0, b);
      assertThat(b.array()).containsOnly(0x42);
    }
    try (DiskImage d = ImageFormats.open(img, false)) {
      assertThat(d.info().details()).containsEntry("dirty", false);
      d.write(700 * 1024, ByteBuffer.wrap(new byte[] {7}));
    }
    assertCheckClean(img, "qcow2");
    assertThat(rawContent(img, "qcow2", dir)[512 * 1024]).isEqualTo((byte) 0x43);
  }

  @Test
  void checkFindsLeaksAndCorruptionsAsQemuDoes() throws Exception {
    Path img = dir.resolve("k.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "4M");
    qemuIo(img, "qcow2", "write -P 0x42 0 256k");
    assertThat(new Qcow2Format().check(img).exitCode()).isZero();
    // leak: append a cluster nothing references and count it (16-bit refcounts, block 0)
    long rtOffset;
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.seek(48);
      rtOffset = f.readLong();
      f.seek(rtOffset);
      long block = f.readLong();
      long extra = (f.length() + 65535) / 65536;
      f.setLength((extra + 1) * 65536);
      f.seek(block + 2 * extra);
      f.writeShort(1);
    }
    QemuTool.Run q = QemuTool.run("qemu-img", "check", img.toString());
    CheckResult leaky = new Qcow2Format().check(img);
    assertThat(leaky.exitCode()).isEqualTo(q.exitCode()).isEqualTo(3);
    assertThat(leaky.leaks()).hasSize(1);
    // corruption: zero the refcount of the first data cluster
    try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
      f.seek(rtOffset);
      long block = f.readLong();
      f.seek(block + 2 * 5);
      f.writeShort(0);
    }
    q = QemuTool.run("qemu-img", "check", img.toString());
    CheckResult corrupt = new Qcow2Format().check(img);
    assertThat(corrupt.exitCode()).isEqualTo(q.exitCode()).isEqualTo(2);
    assertThat(corrupt.corruptions()).anySatisfy(m -> assertThat(m).contains("refcount=0 reference=1"));
  }

  @Test
  void imagesWithInternalSnapshotsReadAndCheck() throws Exception {
    Path img = dir.resolve("snap.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", img.toString(), "2M");
    qemuIo(img, "qcow2", "write -P 0x01 0 1M");
    ok("qemu-img", "snapshot", "-c", "s1", img.toString());
    qemuIo(img, "qcow2", "write -P 0x02 512k 1M");
    byte[] expected = rawContent(img, "qcow2", dir);
    try (DiskImage d = ImageFormats.open(img, true)) {
      assertSameBytes(readAll(d), expected, "active layer");
      assertThat(d.info().details()).containsEntry("snapshots", 1);
    }
    CheckResult c = new Qcow2Format().check(img);
    assertThat(c.corruptions()).isEmpty();
    assertThat(c.leaks()).isEmpty();
  }

  @Test
  void writingPastWhatQemusRefcountTableCoversGrowsTheTable() throws Exception {
    // qemu sizes the refcount table for the file it creates: with 512-byte clusters one table
    // cluster covers 8 MiB of file, so writing 24 MiB makes vstore move the table (twice).
    Path img = dir.resolve("grow.qcow2");
    ok("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", img.toString(), "32M");
    byte[] model = new byte[32 << 20];
    Random r = new Random(11);
    try (DiskImage d = ImageFormats.open(img, false)) {
      for (int i = 0; i < 24; i++) {
        byte[] data = new byte[1 << 20];
        r.nextBytes(data);
        long off = (long) i << 20;
        d.write(off, ByteBuffer.wrap(data));
        System.arraycopy(data, 0, model, (int) off, data.length);
        if (i % 7 == 0) {
          d.flush();
        }
      }
    }
    assertCheckClean(img, "qcow2");
    Path expected = dir.resolve("expected.raw");
    Files.write(expected, model);
    ok("qemu-img", "compare", "-f", "qcow2", "-F", "raw", img.toString(), expected.toString());
    String info = ok("qemu-img", "info", "--output=json", img.toString());
    assertThat(info).contains("\"virtual-size\": 33554432");
  }
}
