package io.vstore.vdisk.vhd;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.FileBackedFormat;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import io.vstore.vdisk.vhd.VhdDynamicHeader.ParentLocator;
import io.vstore.vdisk.vhd.VhdFooter.Geometry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The VHD format (qemu's {@code vpc}): Virtual PC / Hyper-V fixed, dynamic and differencing disks.
 */
public final class VhdFormat extends FileBackedFormat {
  /** The format's name as qemu-img spells it. */
  static final String NAME = "vpc";
  /** Creator application written into new images. */
  static final String CREATOR = "vsto";
  /** Largest dynamic disk, 2040 GiB, as Windows and qemu limit it. */
  static final long MAX_DYNAMIC_SIZE = 0xFF00_0000L * 512;

  private static final Set<String> OPTIONS = Set.of("cache", "subformat", "force_size", "block_size");


  /** Creates the format on the platform's files; it is stateless. */
  public VhdFormat() {
    this(ImageFiles.PLATFORM);
  }

  /** Creates the format on files opened through {@code files} (crash tests pass failing ones). */
  public VhdFormat(ImageFiles files) {
    super(NAME, files);
  }

  @Override
  public boolean probe(ImageProbe probe) {
    if (VhdFooter.hasCookie(probe.head())) {
      return true;
    }
    return probe.tail().remaining() == VhdFooter.SIZE && VhdFooter.hasCookie(probe.tail());
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return files().open(path, readOnly, ch -> open(path, ch, readOnly, chain));
  }

  /** The parsed and validated metadata of a VHD file. */
  record Layout(VhdFooter footer, boolean footerAtEnd, VhdDynamicHeader header, int[] bat, long nextFree) {}

  /** Reads and validates footer, dynamic header and BAT; bounds every size by the file size. */
  static Layout readLayout(Path path, FileChannel ch) throws IOException {
    long fileSize = ch.size();
    if (fileSize < VhdFooter.SIZE) {
      throw new CorruptImageException("bad vpc: " + path + ": file of " + fileSize + " bytes is shorter than a footer");
    }
    ByteBuffer tail = readAt(ch, fileSize - VhdFooter.SIZE, VhdFooter.SIZE);
    VhdFooter footer;
    boolean footerAtEnd = VhdFooter.hasCookie(tail);
    if (footerAtEnd) {
      footer = VhdFooter.read(tail, path + " footer at offset " + (fileSize - VhdFooter.SIZE));
    } else {
      // An interrupted dynamic disk may lack its trailing footer; the copy at offset 0 still holds.
      ByteBuffer head = readAt(ch, 0, VhdFooter.SIZE);
      if (!VhdFooter.hasCookie(head)) {
        throw new CorruptImageException("not a vpc: " + path + ": no \"conectix\" footer at offset 0 or "
            + (fileSize - VhdFooter.SIZE));
      }
      footer = VhdFooter.read(head, path + " footer copy at offset 0");
      if (!footer.isSparse()) {
        throw new CorruptImageException("bad vpc: " + path + ": fixed disk without a footer at the end");
      }
    }
    long size = footer.virtualSize();
    if (!footer.isSparse()) {
      if (size > fileSize - VhdFooter.SIZE) {
        throw new CorruptImageException("bad vpc: " + path + ": fixed disk of virtual size " + size
            + " but only " + (fileSize - VhdFooter.SIZE) + " data bytes in the file");
      }
      return new Layout(footer, footerAtEnd, null, null, fileSize - VhdFooter.SIZE);
    }
    long headerAt = footer.dataOffset();
    // Like qemu, a header cut short by the end of the file reads as zero-padded: its checksum and
    // fields still decide.
    if (headerAt < 0 || headerAt > fileSize - 512) {
      throw new CorruptImageException("bad vpc: " + path + ": dynamic header offset " + Long.toUnsignedString(headerAt)
          + " outside the file (size " + fileSize + ")");
    }
    ByteBuffer headerBytes = readAt(ch, headerAt, VhdDynamicHeader.SIZE);
    String headerWhere = path + " dynamic header at offset " + headerAt;
    VhdDynamicHeader header = VhdDynamicHeader.read(headerBytes.duplicate(), headerWhere);
    if (size > MAX_DYNAMIC_SIZE) {
      throw new CorruptImageException("bad vpc: " + path + ": virtual size " + size + " exceeds the 2040 GiB limit");
    }
    long entries = header.maxTableEntries();
    long batBytes = entries * 4;
    if (header.tableOffset() > fileSize || batBytes > fileSize - header.tableOffset()) {
      throw new CorruptImageException("bad vpc: " + path + ": Max Table Entries too large (" + entries
          + "): a BAT of " + batBytes + " bytes at offset " + header.tableOffset()
          + " runs past the end of the file (size " + fileSize + ")");
    }
    if (entries * header.blockSize() < size) {
      throw new CorruptImageException("bad vpc: " + path + ": BAT of " + entries + " blocks of "
          + header.blockSize() + " bytes is too small for virtual size " + size);
    }
    VhdDynamicHeader.verifyChecksum(headerBytes, headerWhere);
    ByteBuffer raw = readAt(ch, header.tableOffset(), (int) batBytes).order(ByteOrder.BIG_ENDIAN);
    int[] bat = new int[(int) entries];
    long blockSpan = header.bitmapSize() + header.blockSize();
    long end = (header.tableOffset() + batBytes + 511) / 512 * 512;
    for (int i = 0; i < bat.length; i++) {
      bat[i] = raw.getInt(i * 4);
      if (bat[i] != -1) {
        long start = Integer.toUnsignedLong(bat[i]) * 512;
        if (start + blockSpan > fileSize) {
          throw new CorruptImageException("bad vpc: " + path + ": BAT entry " + i + " points at block 0x"
              + Long.toHexString(start) + " whose end 0x" + Long.toHexString(start + blockSpan)
              + " is past the end of the file (size " + fileSize + "); the image has been truncated");
        }
        end = Math.max(end, start + blockSpan);
      }
    }
    for (ParentLocator l : header.locators()) {
      if (l.dataLength() <= ParentLocator.MAX_DATA_LENGTH && l.dataOffset() >= 0) {
        end = Math.max(end, l.dataOffset() + Math.max(l.dataLength(), 512));
      }
    }
    long tailStart = footerAtEnd ? fileSize - VhdFooter.SIZE : fileSize;
    long nextFree = (Math.max(end, tailStart) + 511) / 512 * 512;
    return new Layout(footer, footerAtEnd, header, bat, nextFree);
  }

  private static VhdImage open(Path path, FileChannel ch, boolean readOnly, ImageChainOpener chain) throws IOException {
    Layout layout = readLayout(path, ch);
    DiskImage parent = null;
    String parentPath = null;
    if (layout.footer().diskType() == VhdFooter.DIFFERENCING) {
      Path p = resolveParent(path, ch, layout.header());
      parentPath = p.toString();
      if (chain == null) {
        throw new UnsupportedFormatException("unsupported vpc: " + path + ": differencing disk opened without a chain opener");
      }
      parent = chain.openBacking(p, NAME);
      boolean ok = false;
      try {
        if (!(parent instanceof VhdImage vp)) {
          throw new CorruptImageException("bad vpc: " + path + ": parent " + p + " is not a VHD");
        }
        UUID expected = layout.header().parentUuid();
        if (!vp.footer().uuid().equals(expected)) {
          throw new CorruptImageException("bad vpc: " + path + ": parent " + p + " has unique id "
              + vp.footer().uuid() + " but the differencing disk expects " + expected);
        }
        if (vp.size() != layout.footer().virtualSize()) {
          throw new CorruptImageException("bad vpc: " + path + ": parent " + p + " has size " + vp.size()
              + " but the differencing disk has " + layout.footer().virtualSize());
        }
        ok = true;
      } finally {
        if (!ok) {
          parent.close();
        }
      }
    }
    return new VhdImage(path, ch, readOnly, layout.footer(), layout.header(), layout.bat(), layout.nextFree(),
        parent, parentPath);
  }

  /**
   * Finds the parent of a differencing disk: the relative Windows locator, then the absolute one,
   * then the Mac OS X URL, then the parent's name beside the child. The first that exists wins.
   */
  static Path resolveParent(Path child, FileChannel ch, VhdDynamicHeader header) throws IOException {
    Path dir = child.toAbsolutePath().getParent();
    List<String> tried = new ArrayList<>();
    List<ParentLocator> ordered = new ArrayList<>(header.locators());
    ordered.sort((a, b) -> Integer.compare(rank(a.platformCode()), rank(b.platformCode())));
    for (ParentLocator l : ordered) {
      String text = locatorText(child, ch, l);
      if (text == null) {
        continue;
      }
      for (Path candidate : candidates(dir, text, l.platformCode())) {
        tried.add(candidate.toString());
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
    }
    if (!header.parentName().isEmpty()) {
      Path p;
      try {
        p = dir.resolve(baseName(header.parentName()));
      } catch (java.nio.file.InvalidPathException e) {
        throw new CorruptImageException("bad vpc: " + child + ": parent name is not a valid path: " + e.getReason());
      }
      tried.add(p.toString());
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new CorruptImageException("bad vpc: " + child + ": parent \"" + header.parentName() + "\" not found (tried "
        + String.join(", ", tried) + ")");
  }

  private static int rank(int code) {
    return switch (code) {
      case ParentLocator.W2RU -> 0;
      case ParentLocator.W2KU -> 1;
      case ParentLocator.MACX -> 2;
      default -> 3;
    };
  }

  /** Returns the locator's path text, or null for platforms vstore cannot interpret. */
  static String locatorText(Path child, FileChannel ch, ParentLocator l) throws IOException {
    if (l.platformCode() != ParentLocator.W2KU && l.platformCode() != ParentLocator.W2RU
        && l.platformCode() != ParentLocator.MACX) {
      return null;
    }
    if (l.dataLength() == 0 || l.dataLength() > ParentLocator.MAX_DATA_LENGTH || l.dataOffset() < 0
        || l.dataOffset() + l.dataLength() > ch.size()) {
      throw new CorruptImageException("bad vpc: " + child + ": parent locator " + l.codeName() + " of "
          + l.dataLength() + " bytes at offset " + l.dataOffset() + " lies outside the file (size " + ch.size() + ")");
    }
    ByteBuffer data = readAt(ch, l.dataOffset(), (int) l.dataLength());
    byte[] b = new byte[data.remaining()];
    data.get(b);
    String text = l.platformCode() == ParentLocator.MACX
        ? new String(b, java.nio.charset.StandardCharsets.UTF_8)
        : new String(b, java.nio.charset.StandardCharsets.UTF_16LE);
    int nul = text.indexOf('\0');
    return nul >= 0 ? text.substring(0, nul) : text;
  }

  private static List<Path> candidates(Path dir, String text, int code) {
    List<Path> out = new ArrayList<>();
    try {
      if (code == ParentLocator.MACX) {
        String p = text.startsWith("file://") ? text.substring("file://".length()) : text;
        out.add(Path.of(java.net.URLDecoder.decode(p, java.nio.charset.StandardCharsets.UTF_8)));
      } else {
        String p = text.replace('\\', '/');
        if (code == ParentLocator.W2RU) {
          out.add(dir.resolve(p).normalize());
        } else if (!p.matches("^[A-Za-z]:.*")) {
          out.add(Path.of(p));
        }
        out.add(dir.resolve(baseName(p)));
      }
    } catch (java.nio.file.InvalidPathException e) {
      // A Windows path that means nothing here; the other candidates still apply.
    }
    return out;
  }

  private static String baseName(String p) {
    String s = p.replace('\\', '/');
    return s.substring(s.lastIndexOf('/') + 1);
  }

  /** Reads {@code length} bytes at {@code position}; bytes past the end of the file read as zeros. */
  static ByteBuffer readAt(FileChannel ch, long position, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    long pos = position;
    while (b.hasRemaining()) {
      int n = ch.read(b, pos);
      if (n < 0) {
        break;
      }
      pos += n;
    }
    return b.clear();
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    options.requireKnown(NAME, OPTIONS);
    ImageFiles.unsafeCache(options); // validated before anything is written
    String sub = options.get("subformat", options.backingFile() != null ? "differencing" : "dynamic");
    boolean forceSize = isOn(options.get("force_size", "off"));
    long blockSize = Long.parseLong(options.get("block_size", String.valueOf(VhdDynamicHeader.DEFAULT_BLOCK_SIZE)));
    if (blockSize < 512 || Long.bitCount(blockSize) != 1 || blockSize > VhdDynamicHeader.MAX_BLOCK_SIZE) {
      throw new IllegalArgumentException("vpc block_size " + blockSize + " is not a power of two from 512 to 256 MiB");
    }
    if (options.backingFile() != null) {
      return createDifferencing(path, options, chain, blockSize);
    }
    if (size <= 0) {
      throw new IllegalArgumentException("vpc size " + size + " must be positive");
    }
    Geometry geometry;
    long currentSize;
    long sectors = (size + 511) / 512;
    if (forceSize) {
      // The maximum geometry tells readers (qemu among them) to trust the current size field.
      geometry = new Geometry(65535, 16, 255);
      currentSize = sectors * 512;
    } else {
      geometry = Geometry.roundingUp(sectors);
      currentSize = geometry.sectors() == Geometry.MAX_SECTORS ? sectors * 512 : geometry.sectors() * 512;
    }
    int type = switch (sub) {
      case "dynamic" -> VhdFooter.DYNAMIC;
      case "fixed" -> VhdFooter.FIXED;
      default -> throw new IllegalArgumentException("unknown vpc subformat '" + sub + "' (dynamic or fixed)");
    };
    if (type == VhdFooter.DYNAMIC && currentSize > MAX_DYNAMIC_SIZE) {
      throw new IllegalArgumentException("vpc dynamic disk of " + currentSize + " bytes exceeds the 2040 GiB limit");
    }
    long dataOffset = type == VhdFooter.FIXED ? -1 : VhdFooter.SIZE;
    VhdFooter footer = new VhdFooter(dataOffset, VhdFooter.now(), CREATOR, 0x0001_0000, "Wi2k", currentSize,
        currentSize, geometry, type, 0, UUID.randomUUID(), false);
    files().create(path, ch -> {
      if (type == VhdFooter.FIXED) {
        write(ch, currentSize, footer.toBuffer());
      } else {
        long entries = (currentSize + blockSize - 1) / blockSize;
        VhdDynamicHeader header = new VhdDynamicHeader(3 * 512, entries, blockSize, 0, new UUID(0, 0), 0, "",
            List.of());
        writeDynamicSkeleton(ch, footer, header, List.of());
      }
    });
    return ImageFiles.applyCache((VhdImage) open(path, false, chain), options);
  }

  private DiskImage createDifferencing(Path path, CreateOptions options, ImageChainOpener chain, long blockSize)
      throws IOException {
    if (options.backingFormat() != null && !options.backingFormat().equals(NAME)) {
      throw new IllegalArgumentException("a vpc differencing disk needs a vpc parent, not " + options.backingFormat());
    }
    Path dir = path.toAbsolutePath().getParent();
    Path parentPath = dir.resolve(options.backingFile()).normalize();
    VhdFooter pf;
    try (DiskImage parent = chain.openBacking(parentPath, NAME)) {
      if (!(parent instanceof VhdImage vp)) {
        throw new IllegalArgumentException("parent " + parentPath + " is not a vpc image");
      }
      pf = vp.footer();
    }
    VhdFooter footer = new VhdFooter(VhdFooter.SIZE, VhdFooter.now(), CREATOR, 0x0001_0000, "Wi2k",
        pf.currentSize(), pf.currentSize(), pf.geometry(), VhdFooter.DIFFERENCING, 0, UUID.randomUUID(), false);
    long entries = (pf.currentSize() + blockSize - 1) / blockSize;
    long batEnd = 3 * 512 + (entries * 4 + 511) / 512 * 512;
    String relative = dir.relativize(parentPath).toString();
    String relWin = ".\\" + relative.replace('/', '\\');
    byte[] abs = parentPath.toString().getBytes(java.nio.charset.StandardCharsets.UTF_16LE);
    byte[] rel = relWin.getBytes(java.nio.charset.StandardCharsets.UTF_16LE);
    List<ByteBuffer> data = List.of(ByteBuffer.wrap(rel), ByteBuffer.wrap(abs));
    long relSpace = (rel.length + 511) / 512 * 512;
    long absSpace = (abs.length + 511) / 512 * 512;
    List<ParentLocator> locators = List.of(
        new ParentLocator(ParentLocator.W2RU, relSpace, rel.length, batEnd),
        new ParentLocator(ParentLocator.W2KU, absSpace, abs.length, batEnd + relSpace));
    long parentTime = Files.getLastModifiedTime(parentPath).toMillis() / 1000 - VhdFooter.EPOCH_OFFSET;
    VhdDynamicHeader header = new VhdDynamicHeader(3 * 512, entries, blockSize, 0, pf.uuid(),
        Math.max(0, parentTime), parentPath.getFileName().toString(), locators);
    files().create(path, ch -> writeDynamicSkeleton(ch, footer, header, data));
    return ImageFiles.applyCache((VhdImage) open(path, false, chain), options);
  }

  /** Writes footer copy, dynamic header, an empty BAT, locator data and the trailing footer. */
  private static void writeDynamicSkeleton(FileChannel ch, VhdFooter footer, VhdDynamicHeader header,
      List<ByteBuffer> locatorData) throws IOException {
    write(ch, 0, footer.toBuffer());
    write(ch, footer.dataOffset(), header.toBuffer());
    long batBytes = (header.maxTableEntries() * 4 + 511) / 512 * 512;
    byte[] chunk = new byte[(int) Math.min(batBytes, 1 << 20)];
    Arrays.fill(chunk, (byte) 0xFF);
    long end = header.tableOffset() + batBytes;
    for (long pos = header.tableOffset(); pos < end; pos += chunk.length) {
      write(ch, pos, ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, end - pos)));
    }
    for (int i = 0; i < locatorData.size(); i++) {
      ParentLocator l = header.locators().get(i);
      write(ch, l.dataOffset(), locatorData.get(i).duplicate());
      end = Math.max(end, l.dataOffset() + l.dataSpace());
    }
    write(ch, end, footer.toBuffer());
  }

  private static void write(FileChannel ch, long position, ByteBuffer src) throws IOException {
    long pos = position;
    while (src.hasRemaining()) {
      pos += ch.write(src, pos);
    }
  }

  private static boolean isOn(String v) {
    return switch (v) {
      case "on", "true", "yes", "1" -> true;
      case "off", "false", "no", "0" -> false;
      default -> throw new IllegalArgumentException("expected on or off, got '" + v + "'");
    };
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    return VhdCheck.check(path);
  }
}
