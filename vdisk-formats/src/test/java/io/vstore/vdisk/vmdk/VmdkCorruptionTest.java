package io.vstore.vdisk.vmdk;

import static io.vstore.vdisk.vmdk.VmdkTesting.FORMAT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated, zeroed and bit-flipped images: readers fail with the format's exception, never an index error. */
class VmdkCorruptionTest {
  private static final long SIZE = 3L << 20;
  private static final boolean CI = "true".equals(System.getenv("CI"));
  private static final ImageChainOpener NO_PARENTS = (p, f) -> {
    throw new IOException("no parent expected: " + p);
  };

  @TempDir Path dir;

  /** Creates a small image of the given subformat with data in a few grains and returns its bytes. */
  private byte[] sample(String subformat) throws IOException {
    Path p = dir.resolve("sample-" + subformat + ".vmdk");
    try (DiskImage image = FORMAT.create(p, SIZE, new CreateOptions(Map.of("subformat", subformat), null, null), NO_PARENTS)) {
      Random r = new Random(1);
      for (long off : new long[] {0, 70_000, 1 << 20, SIZE - 4096}) {
        byte[] b = new byte[4096];
        r.nextBytes(b);
        image.write(off, ByteBuffer.wrap(b));
      }
    }
    return Files.readAllBytes(p);
  }

  /** Opens, reads, maps and checks the image; anything but an IOException fails the test. */
  private static void exercise(Path p, String what) {
    try {
      try (DiskImage image = FORMAT.open(p, true, NO_PARENTS)) {
        long size = image.size();
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        for (long off = 0; off < Math.min(size, 8L << 20); off += buf.capacity()) {
          buf.clear().limit((int) Math.min(buf.capacity(), size - off));
          image.read(off, buf);
        }
        for (Extent e : image.allocation(0, Math.min(size, 1L << 30))) {
          assertThat(e.length()).isPositive();
        }
      }
    } catch (IOException expected) {
      assertThat(expected.getMessage()).as(what).isNotBlank();
    } catch (RuntimeException e) {
      throw new AssertionError(what + ": " + e, e);
    }
    try {
      CheckResult r = FORMAT.check(p);
      assertThat(r.exitCode()).as(what).isIn(0, 2, 3);
    } catch (IOException expected) {
      assertThat(expected.getMessage()).as(what).isNotBlank();
    } catch (RuntimeException e) {
      throw new AssertionError(what + " (check): " + e, e);
    }
  }

  @Test
  @Tag("slow")
  void truncatedZeroedAndFlippedImagesFailCleanly() throws IOException {
    int flips = CI ? 150 : 600;
    for (String subformat : new String[] {"monolithicSparse", "streamOptimized"}) {
      byte[] good = sample(subformat);
      Path p = dir.resolve("bad.vmdk");
      Random r = new Random(subformat.hashCode());
      for (int cut = 0; cut < good.length; cut += Math.max(1, good.length / 60)) {
        Files.write(p, Arrays.copyOf(good, cut));
        exercise(p, subformat + " truncated to " + cut);
      }
      // Zero each metadata sector (header, descriptor, directories, tables, the stream's tail).
      for (int sector = 0; sector < good.length / 512; sector++) {
        if (sector > 200 && sector < good.length / 512 - 40) {
          continue;
        }
        byte[] bad = good.clone();
        Arrays.fill(bad, sector * 512, sector * 512 + 512, (byte) 0);
        Files.write(p, bad);
        exercise(p, subformat + " sector " + sector + " zeroed");
      }
      for (int i = 0; i < flips; i++) {
        byte[] bad = good.clone();
        int at = r.nextInt(Math.min(bad.length, 1 << 17));
        if (r.nextBoolean()) {
          at = bad.length - 1 - r.nextInt(Math.min(bad.length, 4096));
        }
        bad[at] ^= (byte) (1 << r.nextInt(8));
        Files.write(p, bad);
        exercise(p, subformat + " bit flip at " + at);
      }
    }
  }

  @Test
  void streamWithoutFooterIsIncomplete() throws IOException {
    byte[] good = sample("streamOptimized");
    Path p = dir.resolve("cut.vmdk");
    Files.write(p, Arrays.copyOf(good, good.length - 1024));
    assertThatThrownBy(() -> FORMAT.open(p, true, NO_PARENTS)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("cut.vmdk");
    CheckResult r = FORMAT.check(p);
    assertThat(r.incomplete()).isTrue();
    assertThat(r.exitCode()).isEqualTo(2);
  }

  @Test
  void grainWrittenWithoutItsTableEntryIsALeakNotCorruption() throws IOException {
    // What a writer killed between the grain write and the table update leaves behind.
    byte[] good = sample("monolithicSparse");
    byte[] interrupted = Arrays.copyOf(good, good.length + 65536);
    Arrays.fill(interrupted, good.length, interrupted.length, (byte) 0x5a);
    CheckResult r = check("interrupted.vmdk", interrupted);
    assertThat(r.corruptions()).isEmpty();
    assertThat(r.leaks()).singleElement().asString().contains("1 grain(s)");
    assertThat(r.exitCode()).isEqualTo(3);
    try (DiskImage d = FORMAT.open(dir.resolve("interrupted.vmdk"), true, NO_PARENTS);
        DiskImage original = FORMAT.open(dir.resolve("sample-monolithicSparse.vmdk"), true, NO_PARENTS)) {
      assertThat(DeviceBytes.readAll(d)).isEqualTo(DeviceBytes.readAll(original));
    }
  }

  @Test
  void grainDirectoryPastEndOfFileIsNamed() throws IOException {
    byte[] bad = sample("monolithicSparse");
    ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(56, 1L << 30);
    Path p = dir.resolve("gd.vmdk");
    Files.write(p, bad);
    assertThatThrownBy(() -> FORMAT.open(p, true, NO_PARENTS)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("gd.vmdk").hasMessageContaining("grain directory").hasMessageContaining("outside the file");
  }

  @Test
  void checkFindsTableMismatchOverlapAndGrainPastEnd() throws IOException {
    byte[] good = sample("monolithicSparse");
    ByteBuffer h = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN);
    long gdSector = h.getLong(56);
    long gtSector = Integer.toUnsignedLong(h.getInt((int) (gdSector * 512)));
    int gt = (int) (gtSector * 512);
    long grain0 = Integer.toUnsignedLong(h.getInt(gt));
    assertThat(grain0).isGreaterThan(1);

    byte[] mismatch = good.clone();
    ByteBuffer.wrap(mismatch).order(ByteOrder.LITTLE_ENDIAN).putInt(gt + 4 * 40, (int) grain0);
    CheckResult r = check("mismatch.vmdk", mismatch);
    assertThat(r.corruptions()).anySatisfy(m -> assertThat(m).contains("differs from its redundant copy"));
    assertThat(r.corruptions()).anySatisfy(m -> assertThat(m).contains("overlaps"));
    assertThat(r.exitCode()).isEqualTo(2);

    byte[] pastEnd = good.clone();
    ByteBuffer.wrap(pastEnd).order(ByteOrder.LITTLE_ENDIAN).putInt(gt + 4, 0x7fffff00);
    r = check("pastend.vmdk", pastEnd);
    assertThat(r.corruptions()).anySatisfy(m -> assertThat(m).contains("past end of file"));
    Path p = dir.resolve("pastend.vmdk");
    try (DiskImage image = FORMAT.open(p, true, NO_PARENTS)) {
      assertThatThrownBy(() -> image.read(65536, ByteBuffer.allocate(512))).isInstanceOf(CorruptImageException.class)
          .hasMessageContaining("past end of file");
    }

    byte[] metadata = good.clone();
    ByteBuffer.wrap(metadata).order(ByteOrder.LITTLE_ENDIAN).putInt(gt + 8, (int) gdSector);
    r = check("meta.vmdk", metadata);
    assertThat(r.corruptions()).anySatisfy(m -> assertThat(m).contains("overlaps"));

    assertThat(check("good.vmdk", good).exitCode()).isZero();
  }

  @Test
  void unsupportedExtentKindsAreNamed() throws IOException {
    Path d = dir.resolve("se.vmdk");
    Files.writeString(d, "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType=\"seSparse\"\n"
        + "RW 2048 SESPARSE \"se-sesparse.vmdk\"\n");
    assertThatThrownBy(() -> FORMAT.open(d, false, NO_PARENTS)).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("SESparse").hasMessageContaining("read-only");
    Path cowd = dir.resolve("cowd-delta.vmdk");
    byte[] b = new byte[2048];
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(CowdHeader.MAGIC).putInt(2);
    Files.write(cowd, b);
    assertThatThrownBy(() -> FORMAT.open(cowd, true, NO_PARENTS)).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("VMFSSPARSE").hasMessageContaining("version 2");
  }

  @Test
  void descriptorErrorsNameTheFileAndLine() {
    assertThatThrownBy(() -> Descriptor.parse("version=1\nRW 10 FLAT \"x\" 0\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessage("bad vmdk: d.vmdk: descriptor has no createType");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\nRW ten FLAT \"x\" 0\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("extent size 'ten' is not a number");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\nRW 10 BOGUS \"x\"\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("unknown extent type 'BOGUS'");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\nRW 10 FLAT \"x\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("unterminated file name");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\nCID=zz\nRW 10 FLAT \"x\" 0\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("CID 'zz' is not a number");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("no extent lines");
    assertThatThrownBy(() -> Descriptor.parse("createType=\"x\"\njunk line\nRW 10 FLAT \"x\" 0\n", "d.vmdk"))
        .isInstanceOf(CorruptImageException.class).hasMessageContaining("'junk line'");
  }

  private CheckResult check(String name, byte[] bytes) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, bytes);
    return FORMAT.check(p);
  }
}
