package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.testing.PowerCutChannels;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Power cuts under an image format: the image is created and written through channels that lose,
 * keep or cut short every write not yet synced ({@link PowerCutChannels#inPlace}), flushed, written
 * again without a flush, and the power is cut. Afterwards the format's check must find no
 * corruption (leaks are allowed), every byte must read as its flushed value or as a value written
 * there since the flush, and the image must take and keep new writes.
 *
 * @param format makes the format on the given files
 * @param extension the image file's extension
 * @param options the create options
 */
public record PowerCutScenario(Function<ImageFiles, ImageFormat> format, String extension, CreateOptions options) {
  private static final long SIZE = 12L << 20;

  /** Runs {@code rounds} power cuts, each with its own image in {@code dir}; returns the last image. */
  public Path run(Path dir, int rounds) throws Exception {
    Path last = null;
    for (int round = 0; round < rounds; round++) {
      last = cutOnce(dir.resolve("cut" + round + "." + extension), 1000L + round);
    }
    return last;
  }

  private Path cutOnce(Path img, long seed) throws Exception {
    Random r = new Random(seed);
    PowerCutChannels power = PowerCutChannels.inPlace(seed);
    ImageFormat cut = format.apply(new ImageFiles(power::open));
    DiskImage d = cut.create(img, SIZE, options, ImageFormats.chainOpener(img));
    byte[] flushed = new byte[(int) d.size()]; // at least SIZE (VHD rounds up to its geometry)
    List<Write> since = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      Write w = writeRandom(d, r);
      System.arraycopy(w.data(), 0, flushed, (int) w.offset(), w.data().length);
    }
    d.flush();
    for (int i = 0; i < 12; i++) {
      since.add(writeRandom(d, r));
    }
    power.cut();
    try {
      d.close();
    } catch (IOException expected) {
      // The power is off: the close cannot flush.
    }

    ImageFormat real = format.apply(ImageFiles.PLATFORM);
    CheckResult check = real.check(img);
    assertThat(check.corruptions()).as("check of %s after a power cut (seed %d)", img, seed).isEmpty();
    try (DiskImage back = real.open(img, true, ImageFormats.chainOpener(img))) {
      byte[] got = DeviceBytes.readAll(back);
      for (int i = 0; i < got.length; i++) {
        if (got[i] != flushed[i] && !writtenSince(since, i, got[i])) {
          throw new AssertionError("byte " + i + " reads " + got[i] + ", neither its flushed value " + flushed[i]
              + " nor a value written there since (seed " + seed + ")");
        }
      }
    }
    // The image takes new writes, and they stay.
    byte[] again = new byte[64 * 1024];
    r.nextBytes(again);
    try (DiskImage w = real.open(img, false, ImageFormats.chainOpener(img))) {
      w.write(SIZE / 2, ByteBuffer.wrap(again));
    }
    assertThat(real.check(img).corruptions()).as("check after writing again (seed %d)", seed).isEmpty();
    try (DiskImage back = real.open(img, true, ImageFormats.chainOpener(img))) {
      ByteBuffer b = ByteBuffer.allocate(again.length);
      back.read(SIZE / 2, b);
      assertThat(b.array()).isEqualTo(again);
    }
    return img;
  }

  /** One write: where, and what. */
  private record Write(long offset, byte[] data) {}

  private static boolean writtenSince(List<Write> since, int at, byte value) {
    for (Write w : since) {
      if (at >= w.offset() && at < w.offset() + w.data().length && w.data()[(int) (at - w.offset())] == value) {
        return true;
      }
    }
    return false;
  }

  /** Writes random bytes at a random place, some whole megabytes, some ragged. */
  private static Write writeRandom(DiskImage d, Random r) throws IOException {
    int n = r.nextBoolean() ? 1 + r.nextInt(300_000) : (1 + r.nextInt(3)) << 20;
    long off = r.nextLong(SIZE - n);
    byte[] b = new byte[n];
    r.nextBytes(b);
    d.write(off, ByteBuffer.wrap(b));
    return new Write(off, b);
  }
}
