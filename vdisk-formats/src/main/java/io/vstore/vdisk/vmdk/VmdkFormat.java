package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageProbe;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The VMDK format: VMware's virtual disk, in every subformat qemu-img reads and writes. */
public final class VmdkFormat implements ImageFormat {

  /** Creates the format; instances are stateless. */
  public VmdkFormat() {}

  @Override
  public String name() {
    return "vmdk";
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
    byte[] bytes = new byte[head.remaining()];
    head.get(bytes);
    for (byte b : bytes) {
      // Descriptors are text; a NUL or control byte means some other format.
      if (b == 0 || (b < 0x20 && b != '\n' && b != '\r' && b != '\t')) {
        return false;
      }
    }
    String text = new String(bytes, StandardCharsets.UTF_8);
    return text.contains("createType=") && (text.contains(" SPARSE ") || text.contains(" FLAT ") || text.contains(" VMFS")
        || text.contains(" ZERO"));
  }

  @Override
  public DiskImage open(Path path, boolean readOnly, ImageChainOpener chain) throws IOException {
    return VmdkImage.open(path, readOnly, chain);
  }

  @Override
  public DiskImage create(Path path, long size, CreateOptions options, ImageChainOpener chain) throws IOException {
    return VmdkCreator.create(path, size, options, chain);
  }

  @Override
  public CheckResult check(Path path) throws IOException {
    return VmdkChecker.check(path);
  }

  @Override
  public String toString() {
    return "vmdk";
  }
}
