package io.vstore.vdisk.vhdx;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes the VHDX parsers (headers, region tables, metadata, BAT, log) by patching bytes of valid
 * templates: a differencing disk's parent locator, and a disk with a dirty log that is opened
 * read-write so the log is parsed and replayed. Only IOException subclasses may come out.
 */
class VhdxFuzzTest {
  /** Structure ranges worth patching: header section, log start, metadata table and items, BAT. */
  private static final long[][] TARGETS = {
      {0, 8}, {64 << 10, 4096}, {128 << 10, 4096}, {192 << 10, 256}, {256 << 10, 256},
      {1 << 20, 12288}, {2 << 20, 512}, {(2 << 20) + (64 << 10), 1024}, {3 << 20, 4096}};

  private static byte[] template;
  private static byte[] dirtyTemplate;

  private static synchronized byte[][] templates() {
    if (template == null) {
      try {
        Path d = Files.createTempDirectory("vhdx-fuzz-template");
        Path base = d.resolve("base.vhdx");
        VhdxQemuTest.FORMAT.create(base, 4 << 20, new CreateOptions(Map.of("block_size", "1M"), null, null),
            VhdxQemuTest.CHAIN).close();
        Path child = d.resolve("t.vhdx");
        try (DiskImage img = VhdxQemuTest.FORMAT.create(child, 0, new CreateOptions(Map.of("block_size", "1M"),
            base.toString(), "vhdx"), VhdxQemuTest.CHAIN)) {
          img.write(1000, ByteBuffer.wrap(new byte[5000]).put(0, (byte) 1));
        }
        template = Files.readAllBytes(child);
        VhdxLogTest.writeDirtyLog(child, List.of(new VhdxLogTest.Change(3 << 20, new byte[4096], 0),
            new VhdxLogTest.Change(4 << 20, null, 8192)), 9);
        dirtyTemplate = Files.readAllBytes(child);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new byte[][] {template, dirtyTemplate};
  }

  @FuzzTest(maxDuration = "20s")
  void patchedImages(FuzzedDataProvider data) throws IOException {
    byte[][] t = templates();
    boolean dirty = data.consumeBoolean();
    byte[] image = (dirty ? t[1] : t[0]).clone();
    int patches = data.consumeInt(0, 8);
    for (int i = 0; i < patches; i++) {
      long[] target = TARGETS[data.consumeInt(0, TARGETS.length - 1)];
      int at = (int) (target[0] + data.consumeInt(0, (int) target[1] - 1));
      byte[] bytes = data.consumeBytes(16);
      System.arraycopy(bytes, 0, image, at, Math.min(bytes.length, image.length - at));
    }
    int cut = data.consumeInt(0, 3);
    int length = cut == 0 ? data.consumeInt(0, image.length) : image.length;
    Path dir = Files.createTempDirectory("vhdx-fuzz");
    Path file = dir.resolve("f.vhdx");
    try {
      Files.write(file, java.util.Arrays.copyOf(image, length));
      exercise(file, dirty);
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }

  @FuzzTest(maxDuration = "10s")
  void rawBytes(byte[] data) throws IOException {
    ImageTesting.exerciseBytes(VhdxQemuTest.FORMAT, data, ".vhdx", false, NO_PARENT, 64L << 20);
  }

  /** Refuses every parent: fuzzed locators must not reach files outside the test. */
  private static final ImageChainOpener NO_PARENT = (p, f) -> {
    throw new CorruptImageException("no parent in fuzzing: " + p);
  };

  /** Opens (read-write when {@code writable}, replaying any log), reads, maps and checks. */
  static void exercise(Path file, boolean writable) throws IOException {
    ImageTesting.exercise(VhdxQemuTest.FORMAT, file, !writable, NO_PARENT, 64L << 20);
  }
}
