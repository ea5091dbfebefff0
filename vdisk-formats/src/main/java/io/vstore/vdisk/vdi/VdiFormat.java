package io.vstore.vdisk.vdi;

import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.FileBackedFormat;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** The VirtualBox VDI format: dynamic and fixed images with 1 MiB blocks. */
public final class VdiFormat extends FileBackedFormat {
  /** The format's name as qemu-img spells it. */
  static final String NAME = "vdi";
  /** The banner VirtualBox writes; readers look only at the signature after it. */
  static final String BANNER = "<<< Oracle VM VirtualBox Disk Image >>>\n";

  private static final Set<String> OPTIONS = Set.of("cache", "static", "subformat");
  private static final long MIB = 1 << 20;

  /** Creates the format; it is stateless. */
  public VdiFormat() {
    this(ImageFiles.PLATFORM);
  }

  /** Creates the format on files opened through {@code files} (crash tests pass failing ones). */
  public VdiFormat(ImageFiles files) {
    super(NAME, files);
  }

  @Override
  public boolean probe(ImageProbe probe) {
    return VdiHeader.hasSignature(probe.head());
  }

  /**
   * A VDI file's metadata.
   *
   * @param header the header
   * @param map the block map: per guest block, its index in the data area, or FREE or ZERO
   */
  record Layout(VdiHeader header, int[] map) {}

  /** Reads and validates the header and the block map, bounding both by the file size. */
  static Layout readLayout(Path path, FileChannel ch) throws IOException {
    long fileSize = ch.size();
    ByteBuffer hb = ByteBuffer.allocate(VdiHeader.SIZE);
    FileContent.readOrZero(ch, 0, hb);
    if (fileSize < 72) {
      throw new CorruptImageException("not a vdi: " + path + ": file of " + fileSize + " bytes is too short");
    }
    VdiHeader h = VdiHeader.read(hb.clear(), path.toString());
    String where = "bad vdi: " + path + ": ";
    if (h.imageType() != VdiHeader.DYNAMIC && h.imageType() != VdiHeader.FIXED) {
      throw new UnsupportedFormatException("unsupported vdi: " + path + ": image type " + h.imageType()
          + " (only 1 dynamic and 2 fixed)");
    }
    if (!h.linkage().equals(new UUID(0, 0)) || !h.parentModified().equals(new UUID(0, 0))) {
      throw new UnsupportedFormatException("unsupported vdi: " + path + ": differencing images (parent UUID set)");
    }
    if (h.headerSize() < 0x180 || h.headerSize() > VdiHeader.SIZE - 72) {
      throw new CorruptImageException(where + "header size " + h.headerSize() + " outside 384..440");
    }
    if (h.blockSize() != VdiHeader.BLOCK_SIZE) {
      throw new UnsupportedFormatException("unsupported vdi: " + path + ": block size " + h.blockSize() + " (only 1 MiB)");
    }
    if (h.blockExtra() != 0) {
      throw new UnsupportedFormatException("unsupported vdi: " + path + ": block extra data " + h.blockExtra());
    }
    if (h.sectorSize() != 512) {
      throw new UnsupportedFormatException("unsupported vdi: " + path + ": sector size " + h.sectorSize());
    }
    if (h.blocks() > VdiHeader.MAX_BLOCKS) {
      throw new CorruptImageException(where + "block count " + h.blocks() + " exceeds " + VdiHeader.MAX_BLOCKS);
    }
    if (h.diskSize() < 0 || h.diskSize() > h.blocks() * h.blockSize()) {
      throw new CorruptImageException(where + "disk size " + h.diskSize() + " exceeds its " + h.blocks() + " blocks");
    }
    if (h.blocksAllocated() > h.blocks()) {
      throw new CorruptImageException(where + h.blocksAllocated() + " blocks allocated of " + h.blocks());
    }
    long mapBytes = h.blocks() * 4;
    if (h.blockMapOffset() < VdiHeader.SIZE || h.blockMapOffset() % 512 != 0 || h.dataOffset() % 512 != 0
        || h.blockMapOffset() + mapBytes > h.dataOffset() || h.blockMapOffset() + mapBytes > fileSize) {
      throw new CorruptImageException(where + "block map of " + h.blocks() + " entries at offset " + h.blockMapOffset()
          + " does not fit before the data at " + h.dataOffset() + " inside the file (size " + fileSize + ")");
    }
    ByteBuffer raw = ByteBuffer.allocate((int) mapBytes).order(ByteOrder.LITTLE_ENDIAN);
    FileContent.readOrZero(ch, h.blockMapOffset(), raw);
    raw.clear();
    int[] map = new int[(int) h.blocks()];
    for (int i = 0; i < map.length; i++) {
      map[i] = raw.getInt(i * 4);
    }
    return new Layout(h, map);
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return files().open(path, readOnly, ch -> open(path, ch, readOnly));
  }

  private static VdiImage open(Path path, FileChannel ch, boolean readOnly) throws IOException {
    Layout layout = readLayout(path, ch);
    VdiHeader h = layout.header();
    int[] map = layout.map();
    long used = 0;
    for (int i = 0; i < map.length; i++) {
      if (map[i] != VdiImage.FREE && map[i] != VdiImage.ZERO) {
        long e = Integer.toUnsignedLong(map[i]);
        if (e >= h.blocks()) {
          throw new CorruptImageException("bad vdi: " + path + ": block map entry " + i + " points at block " + e
              + ", beyond the " + h.blocks() + " blocks of the image");
        }
        used = Math.max(used, e + 1);
      }
    }
    if (h.dataOffset() + used * h.blockSize() > ch.size()) {
      throw new CorruptImageException("bad vdi: " + path + ": " + used + " blocks of data from offset "
          + h.dataOffset() + " do not fit in the file (size " + ch.size() + "); the image has been truncated");
    }
    if (used > h.blocksAllocated()) {
      // An interrupted flush wrote the block map but not the count: allocate after every block the
      // map uses, so that none is handed out twice; the next flush writes the corrected count.
      h = h.withBlocksAllocated(used);
    }
    return new VdiImage(path, ch, readOnly, h, map);
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    options.requireKnown(NAME, OPTIONS);
    ImageFiles.unsafeCache(options); // validated before anything is written
    if (options.backingFile() != null) {
      throw new IllegalArgumentException("vdi images with a parent are not supported");
    }
    boolean fixed = switch (options.get("static", "off")) {
      case "on", "true" -> true;
      case "off", "false" -> false;
      default -> throw new IllegalArgumentException("vdi static must be on or off");
    } || options.get("subformat", "dynamic").equals("fixed");
    if (size <= 0 || (size + 511) / 512 * 512 > VdiHeader.MAX_BLOCKS * VdiHeader.BLOCK_SIZE) {
      throw new IllegalArgumentException("vdi size " + size + " must be positive and below "
          + VdiHeader.MAX_BLOCKS * VdiHeader.BLOCK_SIZE);
    }
    long diskSize = (size + 511) / 512 * 512;
    long blocks = (diskSize + MIB - 1) / MIB;
    long mapOffset = VdiHeader.SIZE;
    // Data aligned to 1 MiB, as VirtualBox lays it out.
    long dataOffset = (mapOffset + blocks * 4 + MIB - 1) / MIB * MIB;
    UUID zero = new UUID(0, 0);
    VdiHeader h = new VdiHeader(VdiFormat.BANNER, VdiHeader.HEADER_SIZE_V11, fixed ? VdiHeader.FIXED : VdiHeader.DYNAMIC,
        0, mapOffset, dataOffset, 512, diskSize, VdiHeader.BLOCK_SIZE, 0, blocks, fixed ? blocks : 0,
        UUID.randomUUID(), UUID.randomUUID(), zero, zero);
    files().create(path, ch -> {
      FileContent.writeFully(ch, 0, h.toBuffer());
      ByteBuffer map = ByteBuffer.allocate((int) Math.min(blocks * 4, 4 * MIB)).order(ByteOrder.LITTLE_ENDIAN);
      for (long i = 0; i < blocks; ) {
        map.clear();
        long start = i;
        while (map.hasRemaining() && i < blocks) {
          map.putInt(fixed ? (int) i : VdiImage.FREE);
          i++;
        }
        FileContent.writeFully(ch, mapOffset + start * 4, map.flip());
      }
      long end = fixed ? dataOffset + blocks * MIB : dataOffset;
      FileContent.writeFully(ch, end - 1, ByteBuffer.allocate(1));
    });
    return ImageFiles.applyCache((VdiImage) open(path, false, chain), options);
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    List<String> corruptions = new ArrayList<>();
    boolean incomplete = false;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      Layout layout;
      try {
        layout = readLayout(path, ch);
      } catch (CorruptImageException | UnsupportedFormatException e) {
        corruptions.add(e.getMessage());
        return new CheckResult(path.toString(), NAME, corruptions, List.of(), false);
      }
      VdiHeader h = layout.header();
      int[] map = layout.map();
      int[] owner = new int[map.length];
      java.util.Arrays.fill(owner, -1);
      long allocated = 0;
      long fileSize = ch.size();
      for (int i = 0; i < map.length; i++) {
        long e = Integer.toUnsignedLong(map[i]);
        if (map[i] == VdiImage.FREE || map[i] == VdiImage.ZERO) {
          continue;
        }
        if (e >= h.blocks()) {
          corruptions.add("block map entry " + i + " points at block " + e + ", beyond the " + h.blocks() + " blocks");
          continue;
        }
        allocated++;
        if (owner[(int) e] >= 0) {
          corruptions.add("block " + e + " is used by entries " + owner[(int) e] + " and " + i);
        } else {
          owner[(int) e] = i;
        }
        if (h.dataOffset() + (e + 1) * h.blockSize() > fileSize) {
          corruptions.add("block map entry " + i + ": block " + e + " ends beyond the end of the file (size " + fileSize + ")");
        }
      }
      if (allocated != h.blocksAllocated()) {
        // What an interrupted flush leaves: the block map and the header's count disagree.
        incomplete = true;
        corruptions.add("allocated blocks mismatch: the block map uses " + allocated + ", the header says "
            + h.blocksAllocated());
      }
    }
    return new CheckResult(path.toString(), NAME, corruptions, List.of(), incomplete);
  }
}
