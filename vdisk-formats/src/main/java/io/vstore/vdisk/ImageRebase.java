package io.vstore.vdisk;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * {@code image rebase}, with qemu-img's semantics: the image gets a new backing file (or none)
 * while what the guest reads stays the same. Safe mode first copies into the image every range
 * the image does not hold itself and where the old chain and the new one read differently (with
 * no new backing file: every range the old chain provides that is not zeros), flushes, and only
 * then rewrites the backing reference; unsafe mode ({@code -u}) only rewrites the reference.
 *
 * <p>An interruption before the reference is rewritten leaves the old chain in place, with some
 * ranges now held by the image itself with the content they already read: nothing the guest
 * sees changes.
 */
public final class ImageRebase {
  /** Bytes compared at a time: a common cluster size, so a difference copies one cluster. */
  static final int GRAIN = 64 << 10;
  /** Bytes whose allocation is asked at a time. */
  private static final long WINDOW = 64L << 20;

  private ImageRebase() {}

  /** What a safe rebase did. */
  public record Result(long bytesCompared, long bytesCopied) {}

  /**
   * Rebases {@code image} (format {@code format}, null: detected) onto {@code backing} (null or
   * empty: no backing file; a relative name is relative to the image's directory, as stored)
   * of format {@code backingFormat} (null: detected when the file exists).
   */
  public static Result rebase(Path image, String format, String backing, String backingFormat, boolean unsafe)
      throws IOException {
    ImageFormat f = format == null ? ImageFormats.detect(image) : ImageFormats.byName(format);
    if (!f.canSetBackingFile()) {
      // Refuse before copying anything: the copy would be for nothing.
      f.setBackingFile(image, backing, backingFormat);
    }
    String name = backing == null || backing.isEmpty() ? null : backing;
    Path resolved = name == null ? null : ImageFormats.resolveBacking(image, name);
    String fmt = backingFormat;
    if (name != null && fmt == null && Files.exists(resolved)) {
      fmt = ImageFormats.detect(resolved).name();
    }
    Result result = new Result(0, 0);
    if (!unsafe) {
      result = copyDifferences(f, image, resolved, fmt);
    }
    f.setBackingFile(image, name, name == null ? null : fmt);
    return result;
  }

  private static Result copyDifferences(ImageFormat f, Path image, Path newBacking, String newFormat)
      throws IOException {
    try (DiskImage top = f.open(image, false, ImageFormats.chainOpener(image));
        DiskImage own = f.open(image, true, (p, fmt) -> new EmptyImage(p, backingSize(top)));
        DiskImage next = newBacking == null ? null : ImageFormats.open(newBacking, newFormat, true)) {
      long size = top.size();
      long compared = 0;
      long copied = 0;
      byte[] a = new byte[GRAIN];
      byte[] b = new byte[GRAIN];
      for (long w = 0; w < size; w += WINDOW) {
        // The image's own allocation: the view's backing is empty, so what it does not hold is a hole.
        // Writes land only in ranges already asked about, so asking window by window stays exact.
        for (Extent e : own.allocation(w, Math.min(WINDOW, size - w))) {
          if (e.kind() != Extent.Kind.HOLE) {
            continue;
          }
          long pos = e.offset();
          while (pos < e.end()) {
            int n = (int) Math.min(GRAIN - pos % GRAIN, e.end() - pos);
            top.read(pos, ByteBuffer.wrap(a, 0, n));
            readOrZeros(next, pos, b, n);
            compared += n;
            if (Arrays.mismatch(a, 0, n, b, 0, n) >= 0) {
              top.write(pos, ByteBuffer.wrap(a, 0, n));
              copied += n;
            }
            pos += n;
          }
        }
      }
      top.flush();
      return new Result(compared, copied);
    }
  }

  private static long backingSize(DiskImage top) {
    return top.backing().map(DiskImage::size).orElse(0L);
  }

  private static void readOrZeros(DiskImage d, long pos, byte[] dst, int n) throws IOException {
    int have = d == null ? 0 : (int) Math.max(0, Math.min(n, d.size() - pos));
    if (have > 0) {
      d.read(pos, ByteBuffer.wrap(dst, 0, have));
    }
    Arrays.fill(dst, have, n, (byte) 0);
  }

  /**
   * A stand-in backing file that holds nothing (reads zeros, allocation all hole): opening an
   * image over it shows which ranges the image holds itself.
   */
  private static final class EmptyImage implements DiskImage {
    private final Path path;
    private final long size;

    EmptyImage(Path path, long size) {
      this.path = path;
      this.size = size;
    }

    @Override
    public Path path() {
      return path;
    }

    @Override
    public ImageInfo info() {
      return new ImageInfo(path.toString(), ImageFormats.RAW, null, size, 0, 0, null, List.of(path.toString()),
          java.util.Map.of());
    }

    @Override
    public Optional<DiskImage> backing() {
      return Optional.empty();
    }

    @Override
    public long size() {
      return size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
      while (dst.hasRemaining()) {
        dst.put((byte) 0);
      }
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      throw new io.vstore.blockstore.ReadOnlyDeviceException(this);
    }

    @Override
    public void flush() {}

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
      throw new io.vstore.blockstore.ReadOnlyDeviceException(this);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      throw new io.vstore.blockstore.ReadOnlyDeviceException(this);
    }

    @Override
    public List<Extent> allocation(long offset, long length) {
      return length == 0 ? List.of() : List.of(new Extent(offset, length, Extent.Kind.HOLE));
    }

    @Override
    public boolean isReadOnly() {
      return true;
    }

    @Override
    public void close() {}

    @Override
    public String toString() {
      return "empty stand-in for " + path;
    }
  }
}
