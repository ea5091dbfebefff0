package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** {@code image map}: a device's allocation extents, shaped like {@code qemu-img map --output=json}. */
public final class ImageMap {

  /**
   * One range of the map.
   *
   * @param start first byte
   * @param length bytes
   * @param kind data, zero or hole
   * @param data whether the range may hold non-zero bytes
   * @param zero whether the range reads as zeros
   */
  public record Entry(long start, long length, String kind, boolean data, boolean zero) {}

  private ImageMap() {}

  /** Returns the map of the whole device. */
  public static List<Entry> of(BlockDevice device) throws IOException {
    List<Entry> out = new ArrayList<>();
    for (Extent e : device.allocation(0, device.size())) {
      out.add(new Entry(e.offset(), e.length(), e.kind().name().toLowerCase(Locale.ROOT),
          e.kind() == Extent.Kind.DATA, e.kind().readsAsZeros()));
    }
    return out;
  }
}
