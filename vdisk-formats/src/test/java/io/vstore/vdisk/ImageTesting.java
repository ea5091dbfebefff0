package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.assertj.core.api.AbstractThrowableAssert;

/**
 * What the tests of the VHD, VHDX and VDI formats do alike: images written by qemu, random
 * writes mirrored into an in-memory model, byte patches, copies, and the fuzzers' tolerant
 * open-read-check round.
 */
public final class ImageTesting {
  private ImageTesting() {}

  /** Returns a chain opener that opens every backing file with {@code format}, read-only. */
  public static ImageChainOpener chainOf(ImageFormat format) {
    return new ImageChainOpener() {
      @Override
      public DiskImage openBacking(Path path, String expectedFormat) throws IOException {
        return format.open(path, true, this);
      }
    };
  }

  /**
   * Has qemu-img create {@code image} in {@code format} with {@code options} and {@code size},
   * qemu-io write each of {@code patterns} (offset, length, byte) into it, and qemu-img convert it
   * to a raw file beside it; returns the raw file.
   */
  public static Path qemuWritten(Path image, String format, String options, String size, long[][] patterns)
      throws IOException, InterruptedException {
    QemuTool.ok("qemu-img", "create", "-q", "-f", format, "-o", options, image.toString(), size);
    List<String> io = new ArrayList<>(List.of("qemu-io", "-f", format));
    io.addAll(QemuTool.qemuIoWrites(patterns));
    io.add(image.toString());
    QemuTool.ok(io.toArray(String[]::new));
    Path raw = image.resolveSibling("q.raw");
    QemuTool.ok("qemu-img", "convert", "-f", format, "-O", "raw", image.toString(), raw.toString());
    return raw;
  }

  /** Writes {@code data} at {@code offset} of both {@code d} and {@code model}. */
  public static void writeBoth(DiskImage d, byte[] model, int offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
    System.arraycopy(data, 0, model, offset, data.length);
  }

  /** Changes made to an open image. */
  @FunctionalInterface
  public interface Writes {
    /** Makes the changes to {@code d}, drawing any random bytes from {@code r}. */
    void apply(DiskImage d, Random r) throws IOException;
  }

  /** Creates {@code file} of {@code size} bytes with {@code options}, writes {@code data} at its start and closes it. */
  public static Path created(ImageFormat format, ImageChainOpener chain, Path file, long size, CreateOptions options,
      ByteBuffer data) throws IOException {
    try (DiskImage d = format.create(file, size, options, chain)) {
      d.write(0, data);
    }
    return file;
  }

  /**
   * Creates {@code image} of {@code size} bytes with {@code options}, applies {@code flushed} and
   * flushes, applies {@code unflushed}, and returns the {@link #killedCopy} taken then; both draw
   * from one random sequence seeded with {@code seed}.
   */
  public static Path killedAfter(ImageFormat format, ImageChainOpener chain, Path image, long size, CreateOptions options,
      long seed, Writes flushed, Writes unflushed) throws IOException, InterruptedException {
    Random r = new Random(seed);
    try (DiskImage d = format.create(image, size, options, chain)) {
      flushed.apply(d, r);
      d.flush();
      unflushed.apply(d, r);
      return killedCopy(image, format, format.name());
    }
  }

  /**
   * Asserts that {@code format} reads qemu's {@code image} of {@code size} bytes as qemu converted
   * it to {@code raw} and checks it clean; then writes 300,000 random bytes at {@code offset} into
   * it and asserts that qemu reads them back and checks it clean.
   */
  public static void assertReadsLikeQemuAndWritesBack(ImageFormat format, ImageChainOpener chain, Path image, Path raw,
      long size, int offset) throws IOException, InterruptedException {
    try (DiskImage d = format.open(image, true, chain)) {
      assertThat(d.size()).isEqualTo(size);
      assertThat(DeviceBytes.sha256(d)).isEqualTo(DeviceBytes.sha256(raw));
    }
    assertThat(format.check(image).exitCode()).isZero();
    byte[] model = Files.readAllBytes(raw);
    try (DiskImage d = format.open(image, false, chain)) {
      writeBoth(d, model, offset, randomBytes(new Random(3), 300_000));
    }
    assertQemuReadsAs(image, format.name(), model, raw);
  }

  /**
   * Creates {@code image} of {@code size} bytes (whole MiB) with {@code options}, writes 40 random
   * runs into it and zeroes 2 MiB at 4 MiB, then asserts that qemu-img reads it as written and checks
   * it clean, that {@code format} checks it clean, and that qemu-img reports its size.
   */
  public static void assertWrittenImageAgreesWithQemu(ImageFormat format, ImageChainOpener chain, Path image, long size,
      CreateOptions options) throws IOException, InterruptedException {
    byte[] model = new byte[(int) size];
    try (DiskImage d = format.create(image, size, options, chain)) {
      assertThat(d.size()).isEqualTo(size);
      writeRandomly(d, model, new Random(42), 40, 300_000);
      zeroBoth(d, model, 4 << 20, 2 << 20);
    }
    assertQemuReadsAs(image, format.name(), model, image.resolveSibling("v.raw"));
    assertThat(format.check(image).exitCode()).isZero();
    String info = QemuTool.ok("qemu-img", "info", "-f", format.name(), image.toString());
    assertThat(info).contains("virtual size: " + (size >> 20) + " MiB");
  }

  /** Returns {@code n} bytes drawn from {@code r}. */
  public static byte[] randomBytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  /**
   * Copies {@code image} as a process killed before its next flush leaves it (the page cache holds
   * every write so far) and asserts that qemu-img ({@code qemuFormat}) and {@code format} both find
   * the copy clean; returns the copy.
   */
  public static Path killedCopy(Path image, ImageFormat format, String qemuFormat) throws IOException, InterruptedException {
    Path copy = image.resolveSibling("killed." + qemuFormat);
    Files.copy(image, copy);
    QemuTool.ok("qemu-img", "check", "-f", qemuFormat, copy.toString());
    assertThat(format.check(copy).exitCode()).isZero();
    return copy;
  }

  /** Writes {@code model} to {@code raw}, then asserts that qemu-img finds {@code image} clean and reading as it. */
  public static void assertQemuReadsAs(Path image, String qemuFormat, byte[] model, Path raw)
      throws IOException, InterruptedException {
    Files.write(raw, model);
    QemuTool.ok("qemu-img", "check", "-f", qemuFormat, image.toString());
    QemuTool.ok("qemu-img", "compare", "-f", qemuFormat, "-F", "raw", image.toString(), raw.toString());
  }

  /** Asserts that opening {@code file} read-only fails as corrupt with a message containing {@code message}. */
  public static AbstractThrowableAssert<?, ? extends Throwable> assertOpenRefused(ImageFormat format, ImageChainOpener chain,
      Path file, String message) {
    return assertThatThrownBy(() -> format.open(file, true, chain)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining(message);
  }

  /** Writes {@code count} random runs of 1 to {@code maxLength} random bytes to {@code d} and {@code model}. */
  public static void writeRandomly(DiskImage d, byte[] model, Random r, int count, int maxLength) throws IOException {
    for (int i = 0; i < count; i++) {
      int n = 1 + r.nextInt(maxLength);
      int off = r.nextInt(model.length - n);
      byte[] data = new byte[n];
      r.nextBytes(data);
      writeBoth(d, model, off, data);
    }
  }

  /** Zeroes {@code length} bytes at {@code offset} of {@code d} (unmapping allowed) and of {@code model}. */
  public static void zeroBoth(DiskImage d, byte[] model, int offset, int length) throws IOException {
    d.writeZeroes(offset, length, true);
    Arrays.fill(model, offset, offset + length, (byte) 0);
  }

  /** Asserts that {@code d} reads as {@code model} from its start; returns what it read. */
  public static byte[] assertReadsAs(DiskImage d, byte[] model) throws IOException {
    byte[] back = new byte[model.length];
    d.read(0, ByteBuffer.wrap(back));
    assertThat(Arrays.mismatch(back, model)).isEqualTo(-1);
    return back;
  }

  /** Asserts that every extent of {@code d} said to read as zeros holds zeros in {@code content}. */
  public static void assertZeroExtentsReadZeros(DiskImage d, byte[] content) throws IOException {
    for (Extent e : d.allocation(0, d.size())) {
      if (e.kind().readsAsZeros()) {
        assertThat(Arrays.copyOfRange(content, (int) e.offset(), (int) e.end())).containsOnly(0);
      }
    }
  }

  /** Returns {@code n} bytes of {@code value}. */
  public static byte[] filled(int n, int value) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) value);
    return b;
  }

  /** Overwrites the bytes at {@code offset} of {@code file} with {@code bytes}. */
  public static void patch(Path file, long offset, ByteBuffer bytes) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.write(bytes, offset);
    }
  }

  /** Overwrites the bytes at {@code offset} of {@code file} with {@code bytes}. */
  public static void patch(Path file, long offset, byte[] bytes) throws IOException {
    patch(file, offset, ByteBuffer.wrap(bytes));
  }

  /** Copies every DATA extent of {@code from} to the same place in {@code to}. */
  public static void copyData(DiskImage from, DiskImage to) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    for (Extent e : from.allocation(0, from.size())) {
      if (e.kind() != Extent.Kind.DATA) {
        continue;
      }
      for (long pos = e.offset(); pos < e.end(); ) {
        buf.clear().limit((int) Math.min(buf.capacity(), e.end() - pos));
        from.read(pos, buf);
        buf.flip();
        to.write(pos, buf);
        pos += buf.limit();
      }
    }
  }

  /** Writes {@code data} to a temporary file named {@code *suffix}, {@link #exercise}s it and deletes it. */
  public static void exerciseBytes(ImageFormat format, byte[] data, String suffix, boolean readOnly, ImageChainOpener chain,
      long mapLimit) throws IOException {
    Path file = Files.createTempFile("fuzz", suffix);
    try {
      Files.write(file, data);
      exercise(format, file, readOnly, chain, mapLimit);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /**
   * Checks, opens, reads (head and tail), maps (the first {@code mapLimit} bytes) and describes
   * {@code file}: malformed input may only raise IOException subclasses, never a runtime exception,
   * a hang or a huge allocation.
   */
  public static void exercise(ImageFormat format, Path file, boolean readOnly, ImageChainOpener chain, long mapLimit)
      throws IOException {
    try {
      format.check(file);
    } catch (IOException expected) {
      // Malformed input: a checked, descriptive error is the required outcome.
    }
    try (DiskImage d = format.open(file, readOnly, chain)) {
      ByteBuffer buf = ByteBuffer.allocate(1 << 16);
      d.read(0, buf.limit((int) Math.min(buf.capacity(), d.size())));
      long tail = Math.max(0, d.size() - 4096);
      d.read(tail, buf.clear().limit((int) (d.size() - tail)));
      for (Extent e : d.allocation(0, Math.min(d.size(), mapLimit))) {
        assert e.length() > 0;
      }
      d.info();
    } catch (IOException expected) {
      // Same.
    }
  }
}
