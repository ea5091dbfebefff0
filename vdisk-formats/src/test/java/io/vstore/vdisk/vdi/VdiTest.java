package io.vstore.vdisk.vdi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageContract;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageTesting;
import io.vstore.vdisk.QemuTool;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** VDI against qemu-img/qemu-io, the BlockDevice contract, corruption and fuzzing. */
class VdiTest {
  static final VdiFormat FORMAT = new VdiFormat();
  static final ImageChainOpener CHAIN = ImageTesting.chainOf(FORMAT);
  private static final AtomicInteger COUNTER = new AtomicInteger();

  @TempDir Path dir;

  private static final long[][] PATTERNS = {
      {0, 4096, 0x11}, {65536, 512, 0x22}, {3 << 20, 1 << 20, 0x33}, {(9 << 20) + 1536, 70000, 0x44},
      {(20L << 20) - 512, 512, 0x55}};

  @ParameterizedTest
  @ValueSource(strings = {"static=off", "static=on"})
  void qemuWrittenImagesReadLikeQemuConvert(String opts) throws Exception {
    Path img = dir.resolve("q.vdi");
    Path raw = ImageTesting.qemuWritten(img, "vdi", opts, "20M", PATTERNS);
    try (DiskImage d = FORMAT.open(img, true, CHAIN)) {
      assertThat(d.info().subformat()).isEqualTo(opts.equals("static=on") ? "fixed" : "dynamic");
    }
    ImageTesting.assertReadsLikeQemuAndWritesBack(FORMAT, CHAIN, img, raw, 20L << 20, 7_000_001);
  }

  @ParameterizedTest
  @ValueSource(strings = {"off", "on"})
  void vstoreWrittenImagesPassQemuCheckAndCompare(String fixed) throws Exception {
    ImageTesting.assertWrittenImageAgreesWithQemu(FORMAT, CHAIN, dir.resolve("v.vdi"), 30L << 20,
        new CreateOptions(Map.of("static", fixed), null, null));
  }

  private Path written() throws IOException {
    return ImageTesting.created(FORMAT, CHAIN, dir.resolve("w" + COUNTER.incrementAndGet() + ".vdi"), 8 << 20,
        CreateOptions.none(), ByteBuffer.wrap(new byte[3 << 20]).put(7, (byte) 1));
  }

  @Test
  void corruptHeadersAndMapsAreRefused() throws IOException {
    Path p = written();
    ImageTesting.patch(p, 384, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x7fffffff));
    assertThatThrownBy(() -> FORMAT.open(p, true, CHAIN)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("block count");
    Path q = written();
    ImageTesting.patch(q, 512 + 4, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 5000));
    assertThatThrownBy(() -> FORMAT.open(q, true, CHAIN)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("block map entry 1");
    assertThat(FORMAT.check(q).exitCode()).isEqualTo(2);
    Path s = written();
    ImageTesting.patch(s, 376, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 4096));
    assertThatThrownBy(() -> FORMAT.open(s, true, CHAIN)).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("block size");
    Path t = written();
    ImageTesting.patch(t, 64, ByteBuffer.allocate(4));
    assertThatThrownBy(() -> FORMAT.open(t, true, CHAIN)).isInstanceOf(CorruptImageException.class)
        .hasMessageStartingWith("not a vdi");
  }

  @Test
  void duplicateBlocksAndCountMismatchAreReportedByCheck() throws Exception {
    Path p = written();
    // Entry 1 now shares block 0 with entry 0.
    ImageTesting.patch(p, 512 + 4, ByteBuffer.allocate(4));
    CheckResult r = FORMAT.check(p);
    assertThat(r.corruptions()).anySatisfy(c -> assertThat(c).contains("used by entries 0 and 1"));
    assertThat(QemuTool.run("qemu-img", "check", "-f", "vdi", p.toString()).exitCode()).isEqualTo(2);
    // The header's count behind the map, as an interrupted flush leaves it: check says incomplete,
    // a read-write open allocates past the map's blocks.
    Path q = written();
    ImageTesting.patch(q, 388, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 1));
    assertThat(FORMAT.check(q).incomplete()).isTrue();
    try (DiskImage d = FORMAT.open(q, false, CHAIN)) {
      d.write(5 << 20, ByteBuffer.wrap(new byte[] {9}));
    }
    assertThat(FORMAT.check(q).exitCode()).isZero();
    QemuTool.ok("qemu-img", "check", "-f", "vdi", q.toString());
  }

  @Test
  void truncatedFilesNeverCrash() throws IOException {
    byte[] whole = Files.readAllBytes(written());
    for (int len : new int[] {0, 10, 71, 100, 511, 512, 600, 4096}) {
      Path t = dir.resolve("t" + len + ".vdi");
      Files.write(t, Arrays.copyOf(whole, len));
      assertThatThrownBy(() -> FORMAT.open(t, true, CHAIN)).as("length %d", len).isInstanceOf(IOException.class);
      ImageTesting.exercise(FORMAT, t, true, CHAIN, Long.MAX_VALUE);
    }
  }

  @FuzzTest(maxDuration = "20s")
  void headerAndMap(byte[] data) throws IOException {
    ImageTesting.exerciseBytes(FORMAT, data, ".vdi", true, CHAIN, Long.MAX_VALUE);
  }

  abstract static class Contract extends ImageContract {
    abstract String fixed();

    @Override
    protected ImageFormat format() {
      return FORMAT;
    }

    @Override
    protected CreateOptions options() {
      return new CreateOptions(Map.of("static", fixed()), null, null);
    }

    @Override
    protected int allocationGranularity() {
      return 1 << 20;
    }
  }

  @Nested
  class Dynamic extends Contract {
    @Override
    String fixed() {
      return "off";
    }
  }

  @Nested
  class Fixed extends Contract {
    @Override
    String fixed() {
      return "on";
    }

    @Override
    protected int allocationGranularity() {
      return 4096;
    }
  }
}
