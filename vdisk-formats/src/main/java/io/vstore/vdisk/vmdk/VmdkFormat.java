package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.FileBackedFormat;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.ImageProbe;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The VMDK format: VMware's virtual disk, in every subformat qemu-img reads and writes. */
public final class VmdkFormat extends FileBackedFormat {


  /** Creates the format on the platform's files; instances are stateless. */
  public VmdkFormat() {
    this(ImageFiles.PLATFORM);
  }

  /** Creates the format on files opened through {@code files} (crash tests pass failing ones). */
  public VmdkFormat(ImageFiles files) {
    super("vmdk", files);
  }

  @Override
  public boolean probe(ImageProbe probe) {
    ByteBuffer head = probe.head().duplicate();
    if (SparseHeader.hasMagic(head) || CowdHeader.hasMagic(head)) {
      return true;
    }
    if (probe.fileSize() > Descriptor.MAX_SIZE || !head.hasRemaining()) {
      return false;
    }
    String text = descriptorText(head, probe.fileSize() > head.remaining() ? probe.tail().duplicate() : null);
    return text != null && text.contains("createType=")
        && (text.contains(" SPARSE ") || text.contains(" FLAT ") || text.contains(" VMFS") || text.contains(" ZERO"));
  }

  /**
   * Returns the descriptor text of a file whose head is {@code head} (and whose last bytes are
   * {@code tail} when the head does not reach the end), or null if it cannot be one. As in QEMU, the
   * text ends at the first NUL: qemu-img and VMware pad descriptor files to a sector with zeros. What
   * follows that NUL must be zeros or plain ASCII text (when qemu rewrites a descriptor with a shorter
   * CID it leaves the tail of the old text behind the new NUL), and the text must be UTF-8 without
   * control bytes, so that a boot sector or other binary data never passes for a descriptor.
   */
  static String descriptorText(ByteBuffer head, ByteBuffer tail) {
    int start = head.position();
    int end = head.limit();
    for (int i = start; i < end; i++) {
      if (head.get(i) == 0) {
        end = i;
        break;
      }
    }
    boolean padded = end < head.limit();
    if (end == start || padded && (!zerosOrText(head.duplicate().position(end)) || tail != null && !zerosOrText(tail))) {
      return null;
    }
    for (int i = start; i < end; i++) {
      int b = head.get(i) & 0xff;
      if (b < 0x20 && b != '\n' && b != '\r' && b != '\t' || b == 0x7f) {
        return null;
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(head.duplicate().limit(end))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  private static boolean zerosOrText(ByteBuffer b) {
    while (b.hasRemaining()) {
      int c = b.get() & 0xff;
      if (c != 0 && !isText(c)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isText(int c) {
    return c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t';
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return VmdkImage.open(path, readOnly, chain, true, files());
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    return VmdkCreator.create(path, size, options, chain, files());
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    return VmdkChecker.check(path);
  }

  @Override
  public boolean canSetBackingFile() {
    return true;
  }

  /**
   * Names {@code backingName} (a VMDK; null: none) as the parent in the descriptor, with the
   * parent's current CID as {@code parentCID}, so that the delta opens on it (vstore and qemu check
   * that CID). The parent must exist, to read its CID.
   */
  @Override
  public void setBackingFile(Path path, String backingName, String backingFormat) throws IOException {
    long cid = Descriptor.NO_PARENT;
    if (backingName != null) {
      if (backingFormat != null && !backingFormat.equals(name())) {
        throw new UnsupportedFormatException("unsupported vmdk: the parent of a vmdk delta must be a vmdk, not "
            + backingFormat + " (" + backingName + ")");
      }
      Path parent = ImageFormats.resolveBacking(path, backingName);
      if (!Files.exists(parent)) {
        throw new NoSuchFileException(parent.toString(), null, "new vmdk parent not found (its CID is needed)");
      }
      try (DiskImage p = ImageFormats.open(parent, name(), true)) {
        if (!(p.info().details().get("cid") instanceof Long c)) {
          throw new UnsupportedFormatException("unsupported vmdk: parent " + parent + " has no CID");
        }
        cid = c;
      }
    }
    try (VmdkImage img = VmdkImage.open(path, false, null, false, files())) {
      img.rewriteParent(backingName, cid);
    }
  }

  @Override
  public String toString() {
    return "vmdk";
  }
}
