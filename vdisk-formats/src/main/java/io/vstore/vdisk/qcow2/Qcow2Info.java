package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.ImageInfo;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds {@code image info} for an open qcow2 image from its header, in qemu-img's terms. */
final class Qcow2Info {
  private Qcow2Info() {}

  /** Returns the info of {@code file} with header {@code h}, its file size, backing and data file. */
  static ImageInfo of(String file, Qcow2Header h, long fileSize, String backingName, String backingFormat,
      Qcow2DataFile data) {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("compat", h.version() == 3 ? "1.1" : "0.10");
    details.put("refcount_bits", 1 << h.refcountOrder());
    details.put("compression_type", h.compressionType() == Qcow2Header.COMPRESSION_ZSTD ? "zstd" : "zlib");
    details.put("lazy_refcounts", (h.compatibleFeatures() & Qcow2Header.COMPAT_LAZY_REFCOUNTS) != 0);
    details.put("extended_l2", h.extendedL2());
    details.put("dirty", (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_DIRTY) != 0);
    details.put("corrupt", (h.incompatibleFeatures() & Qcow2Header.INCOMPAT_CORRUPT) != 0);
    details.put("snapshots", h.nbSnapshots());
    if (backingFormat != null) {
      details.put("backing_format", backingFormat);
    }
    if (data.external()) {
      details.put("data_file", data.name());
      details.put("data_file_raw", data.raw());
    }
    List<String> files = data.external() ? List.of(file, data.path().toString()) : List.of(file);
    return new ImageInfo(file, Qcow2Format.NAME, h.version() == 3 ? "v3" : "v2", h.size(), fileSize,
        h.clusterSize(), backingName, files, details);
  }
}
