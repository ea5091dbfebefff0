package io.vstore.vdisk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * The registry of image formats found with {@link ServiceLoader}, format detection by content and
 * opening of whole backing chains.
 */
public final class ImageFormats {
  /** Longest backing chain {@link #open} follows before refusing (qemu has no limit; loops must end). */
  public static final int MAX_CHAIN_DEPTH = 256;
  /** Name of the fallback format: anything no other format claims is raw. */
  public static final String RAW = "raw";

  private static final int PROBE_HEAD = 64 * 1024;
  private static final int PROBE_TAIL = 512;
  private static final List<ImageFormat> FORMATS = load();

  private ImageFormats() {}

  private static List<ImageFormat> load() {
    List<ImageFormat> all = new ArrayList<>();
    ServiceLoader.load(ImageFormat.class, ImageFormats.class.getClassLoader()).forEach(all::add);
    // Raw claims everything, so it is asked last whatever order the service files list.
    all.sort((a, b) -> Boolean.compare(RAW.equals(a.name()), RAW.equals(b.name())));
    return List.copyOf(all);
  }

  /** Returns every registered format, raw last. */
  public static List<ImageFormat> all() {
    return FORMATS;
  }

  /** Returns the format called {@code name} (qemu-img's spelling), or throws naming the known ones. */
  public static ImageFormat byName(String name) throws UnsupportedFormatException {
    String wanted = name.toLowerCase(Locale.ROOT);
    for (ImageFormat f : FORMATS) {
      if (f.name().equals(wanted)) {
        return f;
      }
    }
    throw new UnsupportedFormatException("unsupported format: '" + name + "' (known: "
        + String.join(", ", FORMATS.stream().map(ImageFormat::name).toList()) + ")");
  }

  /** Returns the format of {@code path} judged by its content; raw when no other format claims it. */
  public static ImageFormat detect(Path path) throws IOException {
    ImageProbe probe = probe(path);
    for (ImageFormat f : FORMATS) {
      if (f.probe(fresh(probe))) {
        return f;
      }
    }
    throw new UnsupportedFormatException("unsupported format: no registered format (not even raw) claims " + path);
  }

  // Each format gets its own buffer positions so one format's reads do not move another's.
  private static ImageProbe fresh(ImageProbe p) {
    return new ImageProbe(p.path(), p.fileSize(), p.head().duplicate().rewind(), p.tail().duplicate().rewind());
  }

  /** Reads the head and tail of {@code path} that probing looks at. */
  public static ImageProbe probe(Path path) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, PROBE_HEAD));
      readFully(ch, 0, head);
      ByteBuffer tail = ByteBuffer.allocate((int) Math.min(size, PROBE_TAIL));
      readFully(ch, size - tail.capacity(), tail);
      return new ImageProbe(path, size, head.flip().asReadOnlyBuffer(), tail.flip().asReadOnlyBuffer());
    } catch (NoSuchFileException e) {
      throw new NoSuchFileException(path.toString(), null, "no such image file");
    }
  }

  private static void readFully(FileChannel ch, long pos, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      int n = ch.read(dst, pos + dst.position());
      if (n < 0) {
        break;
      }
    }
  }

  /** Opens {@code path} (format detected by content) with its whole backing chain. */
  public static DiskImage open(Path path, boolean readOnly) throws IOException {
    return open(path, null, readOnly);
  }

  /** Opens {@code path} as {@code format} (null: detect) with its whole backing chain. */
  public static DiskImage open(Path path, String format, boolean readOnly) throws IOException {
    ImageFormat f = format == null ? detect(path) : byName(format);
    ChainOpener chain = new ChainOpener(List.of(path.toAbsolutePath().normalize()));
    return f.open(path, readOnly, chain);
  }

  /** Creates an image of {@code format}, resolving a backing file (if any) through a chain opener. */
  public static DiskImage create(Path path, String format, long size, CreateOptions options) throws IOException {
    ImageFormat f = byName(format);
    return f.create(path, size, options, new ChainOpener(List.of(path.toAbsolutePath().normalize())));
  }

  /** Returns the chain opener an image at {@code child} uses for its backing file. */
  public static ImageChainOpener chainOpener(Path child) {
    return new ChainOpener(List.of(child.toAbsolutePath().normalize()));
  }

  /**
   * Resolves a backing file name as recorded in {@code child}: absolute names stay, relative ones
   * are relative to the child's directory (as qemu resolves them).
   */
  public static Path resolveBacking(Path child, String backingName) throws CorruptImageException {
    Path b;
    try {
      b = Path.of(backingName);
    } catch (java.nio.file.InvalidPathException e) {
      // The name comes from the file: a NUL or the like is bad data, not a caller's mistake.
      throw new CorruptImageException("bad image: " + child + ": backing file name '"
          + backingName.replaceAll("\\p{Cntrl}", "?") + "' is not a valid path: " + e.getReason());
    }
    if (b.isAbsolute()) {
      return b;
    }
    Path dir = child.toAbsolutePath().getParent();
    return dir == null ? b : dir.resolve(b);
  }

  /** Returns the images of the chain, top first. */
  public static List<DiskImage> chain(DiskImage top) {
    List<DiskImage> out = new ArrayList<>();
    Optional<DiskImage> cur = Optional.of(top);
    while (cur.isPresent()) {
      out.add(cur.get());
      cur = cur.get().backing();
    }
    return out;
  }

  /** Opens backing files read-only, detecting formats, refusing loops and over-long chains. */
  private static final class ChainOpener implements ImageChainOpener {
    private final List<Path> seen; // top first; each opener is one level deeper

    ChainOpener(List<Path> seen) {
      this.seen = seen;
    }

    @Override
    public DiskImage openBacking(Path path, String expectedFormat) throws IOException {
      Path norm = path.toAbsolutePath().normalize();
      Path real = Files.exists(norm) ? norm.toRealPath() : norm;
      Set<Path> realSeen = new HashSet<>();
      for (Path p : seen) {
        realSeen.add(Files.exists(p) ? p.toRealPath() : p);
      }
      if (realSeen.contains(real)) {
        throw new CorruptImageException("bad backing chain: " + path + " is its own backing file (loop through "
            + seen + ")");
      }
      if (seen.size() >= MAX_CHAIN_DEPTH) {
        throw new UnsupportedFormatException("unsupported backing chain: deeper than " + MAX_CHAIN_DEPTH
            + " images at " + path);
      }
      if (!Files.exists(norm)) {
        throw new NoSuchFileException(path.toString(), null, "backing file of " + seen.getLast() + " not found");
      }
      ImageFormat f = expectedFormat == null ? detect(norm) : byName(expectedFormat);
      List<Path> next = new ArrayList<>(seen);
      next.add(norm);
      return f.open(norm, true, new ChainOpener(List.copyOf(next)));
    }
  }
}
