package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageProbe;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.zip.GZIPInputStream;

/**
 * Copies a disk from a package into a {@link BlockDevice} (a new volume, which reads zeros).
 * A streamOptimized VMDK, a raw disk and gzip files are read as one stream, verified against the
 * manifest on the way, from any source, an OVA stream included. Other formats (VMDK sparse or
 * flat, VHD, VHDX, qcow2, VDI) need random access: they are opened with vdisk-formats' readers
 * over a channel onto their bytes inside the OVA (or their file in a directory), which a seekable
 * package provides when the file is stored plainly; their manifest digest is checked by one
 * sequential read before the copy.
 */
public final class DiskReader {
  private static final int HEAD = 64 * 1024;
  private static final int TAIL = 512;
  private static final int RAW_CHUNK = 1 << 20;

  private enum Kind { STREAM_OPTIMIZED, RAW, IMAGE }

  private final PackageFile file;
  private final Kind kind;
  private final String format;
  private final long capacity;
  private final InputStream stream; // STREAM_OPTIMIZED, RAW: positioned at the disk's first byte
  private final StreamOptimizedReader vmdk;
  private final FileChannel channel;

  private DiskReader(PackageFile file, Kind kind, String format, long capacity, InputStream stream,
      StreamOptimizedReader vmdk, FileChannel channel) {
    this.file = file;
    this.kind = kind;
    this.format = format;
    this.capacity = capacity;
    this.stream = stream;
    this.vmdk = vmdk;
    this.channel = channel;
  }

  /**
   * Starts the native grain inflater's set-up on another thread (see {@code NativeInflater}): an
   * importer calls it before opening the datastore, so that the two overlap.
   */
  public static void primeInflater() {
    NativeInflater.prime();
  }

  /** Looks at the disk's first bytes (and, in a seekable package, its last) to learn its format and capacity. */
  public static DiskReader open(PackageFile file) throws IOException {
    Optional<FileChannel> ch = file.channel();
    if (ch.isPresent()) {
      FileChannel c = ch.get();
      ByteBuffer head = read(c, 0, (int) Math.min(HEAD, c.size()));
      ByteBuffer tail = read(c, Math.max(0, c.size() - TAIL), (int) Math.min(TAIL, c.size()));
      if (!StreamOptimizedReader.isStreamOptimized(head) && !isGzip(head)) {
        ImageFormat f = detect(file, c.size(), head, tail);
        if (!f.name().equals(ImageFormats.RAW)) {
          return new DiskReader(file, Kind.IMAGE, f.name(), -1, null, null, c);
        }
      }
      c.close();
    }
    InputStream in = new BufferedInputStream(file.stream(), 256 * 1024);
    ByteBuffer head = peek(in);
    if (isGzip(head)) {
      // A disk gzipped without saying so in ovf:compression: undo it all the same.
      in = new BufferedInputStream(new GZIPInputStream(in, 64 * 1024), 256 * 1024);
      head = peek(in);
    }
    if (StreamOptimizedReader.isStreamOptimized(head)) {
      StreamOptimizedReader r = StreamOptimizedReader.parse(file.toString(), head);
      return new DiskReader(file, Kind.STREAM_OPTIMIZED, "vmdk", r.capacity(), in, r, null);
    }
    ImageFormat f = detect(file, -1, head, ByteBuffer.allocate(0));
    if (!f.name().equals(ImageFormats.RAW)) {
      in.close();
      throw new PackageException("unsupported in this package: " + file + " is a " + f.name() + " disk stored "
          + (file.ref().gzip() ? "gzip-compressed" : file.ref().chunked() ? "in chunks" : "in an OVA read as a stream")
          + "; only streamOptimized VMDK and raw disks are read as a stream, a " + f.name()
          + " disk needs a seekable OVA (a file) holding it as one plain member");
    }
    // Stored plainly, a raw disk's stored size is its capacity; compressed, only the descriptor knows it.
    long size = file.ref().gzip() ? -1 : file.ref().size();
    return new DiskReader(file, Kind.RAW, ImageFormats.RAW, size, in, null, null);
  }

  private static ImageFormat detect(PackageFile file, long size, ByteBuffer head, ByteBuffer tail) {
    Path p = Path.of(file.ref().href());
    ImageProbe probe = new ImageProbe(p, size < 0 ? Long.MAX_VALUE : size, head, tail);
    for (ImageFormat f : ImageFormats.all()) {
      ImageProbe fresh = new ImageProbe(p, probe.fileSize(), head.duplicate(), tail.duplicate());
      if (f.name().equals(ImageFormats.RAW)) {
        return f;
      }
      // A VMDK text descriptor is a multi-file disk; inside a package only its one file counts.
      if (f.probe(fresh)) {
        return f;
      }
    }
    throw new IllegalStateException("no raw format registered");
  }

  private static boolean isGzip(ByteBuffer head) {
    return head.remaining() >= 2 && (head.get(head.position()) & 0xff) == 0x1f && (head.get(head.position() + 1) & 0xff) == 0x8b;
  }

  private static ByteBuffer peek(InputStream in) throws IOException {
    in.mark(HEAD);
    byte[] b = in.readNBytes(HEAD);
    in.reset();
    return ByteBuffer.wrap(b).asReadOnlyBuffer();
  }

  private static ByteBuffer read(FileChannel c, long at, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n);
    while (b.hasRemaining()) {
      if (c.read(b, at + b.position()) < 0) {
        break;
      }
    }
    return b.flip().asReadOnlyBuffer();
  }

  /** Returns the disk's format as qemu-img names it (vmdk, raw, qcow2, vpc, vhdx, vdi). */
  public String format() {
    return format;
  }

  /**
   * Returns the disk's capacity in bytes, or -1 when only the descriptor knows it (a raw disk that
   * is compressed or read as a stream; an image format opened at {@link #copyTo}).
   */
  public long capacity() throws IOException {
    if (kind == Kind.IMAGE) {
      try (DiskImage img = openImage()) {
        return img.size();
      }
    }
    return capacity;
  }

  /**
   * Copies the disk into {@code target}, which must read zeros and be at least the disk's capacity,
   * skipping zeros; returns the bytes of data written. {@code progress} hears the bytes of the disk
   * covered so far.
   */
  public long copyTo(BlockDevice target, LongConsumer progress) throws IOException {
    return copy(target, progress, false);
  }

  /**
   * Applies the disk as an {@code ovf:parentRef} delta onto {@code target}, which holds the parent's
   * content (a linked clone of it, or a copy): what the delta leaves out (holes, grains it does not
   * have) keeps the parent's data; what it holds replaces it, zeros included — a streamOptimized
   * zero grain, an image's zero clusters, every byte of a raw delta. Returns the bytes of data written.
   */
  public long applyDeltaTo(BlockDevice target, LongConsumer progress) throws IOException {
    return copy(target, progress, true);
  }

  private long copy(BlockDevice target, LongConsumer progress, boolean overParent) throws IOException {
    return switch (kind) {
      case STREAM_OPTIMIZED -> {
        try (InputStream in = stream) {
          // A manifest digests every byte as it streams: the grains' own checksums add nothing then.
          long n = vmdk.copyTo(in, target, progress, overParent, !file.digested());
          // Read what follows the end-of-stream marker, so that the manifest check sees every byte.
          in.transferTo(java.io.OutputStream.nullOutputStream());
          yield n;
        }
      }
      case RAW -> copyRaw(target, progress, overParent);
      case IMAGE -> {
        file.verify();
        try (DiskImage img = openImage()) {
          if (overParent) {
            yield DeltaCopy.copy(img, target, progress);
          }
          ImageConversion.Result r = ImageConversion.copy(img, target,
              Math.max(2, Runtime.getRuntime().availableProcessors() * 2), 64 * 1024, false, progress);
          yield r.bytesWritten();
        }
      }
    };
  }

  private long copyRaw(BlockDevice target, LongConsumer progress, boolean keepZeros) throws IOException {
    byte[] buf = new byte[RAW_CHUNK];
    long at = 0;
    long written = 0;
    try (InputStream in = stream) {
      while (true) {
        int n = in.readNBytes(buf, 0, buf.length);
        if (n <= 0) {
          break;
        }
        if (at + n > target.size()) {
          throw new PackageException("bad ova: " + file + ": the raw disk is longer than the " + target.size()
              + " bytes of " + target);
        }
        if (keepZeros || Arrays.mismatch(buf, 0, n, ZEROS, 0, n) >= 0) {
          target.write(at, ByteBuffer.wrap(buf, 0, n));
          written += n;
        }
        at += n;
        progress.accept(at);
      }
    }
    return written;
  }

  private static final byte[] ZEROS = new byte[RAW_CHUNK];

  /**
   * Opens the disk with its vdisk-formats reader, every file it asks for confined to the package:
   * in an OVA only the disk's own member; in a directory files below it, never through a link.
   */
  private DiskImage openImage() throws IOException {
    Path self = Path.of("/ova-member").resolve(file.ref().href());
    Optional<Path> real = file.path();
    Path root = real.map(p -> p.toAbsolutePath().getParent()).orElse(null);
    io.vstore.blockstore.store.ChannelOpener opener = (path, options) -> {
      if (options.contains(StandardOpenOption.WRITE)) {
        throw new PackageException("bad ova: " + file + ": the disk reader tried to write " + path);
      }
      if (real.isEmpty()) {
        if (!path.equals(self)) {
          throw new PackageException("unsupported in an OVA: " + file + " refers to another file, " + path.getFileName()
              + "; a disk in an OVA must be a single file");
        }
        return file.channel().orElseThrow();
      }
      Path p = path.toAbsolutePath().normalize();
      if (!p.startsWith(root)) {
        throw new PackageException("bad ova: " + file + " refers to " + path + ", outside the package");
      }
      return FileChannel.open(p, Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
    };
    Path open = real.map(p -> p.toAbsolutePath().normalize()).orElse(self);
    ImageFormat f = formatOn(opener);
    return f.open(open, true, (backing, fmt) -> {
      throw new PackageException("unsupported in a package: " + file + " has a backing file (" + backing.getFileName()
          + "); deltas are described with ovf:parentRef, not inside the disk");
    });
  }

  /** Returns this reader's format reading through {@code opener}, so that its reads stay inside the package. */
  private ImageFormat formatOn(io.vstore.blockstore.store.ChannelOpener opener) throws PackageException {
    ImageFiles files = new ImageFiles(opener);
    return switch (format) {
      case "vmdk" -> new io.vstore.vdisk.vmdk.VmdkFormat(files);
      case "vpc" -> new io.vstore.vdisk.vhd.VhdFormat(files);
      case "vhdx" -> new io.vstore.vdisk.vhdx.VhdxFormat(files);
      case "vdi" -> new io.vstore.vdisk.vdi.VdiFormat(files);
      case "qcow2" -> new io.vstore.vdisk.qcow2.Qcow2Format(opener);
      default -> throw new PackageException("unsupported in a package: " + file + ": a " + format + " disk");
    };
  }

  @Override
  public String toString() {
    return file + " (" + format + ")";
  }
}
