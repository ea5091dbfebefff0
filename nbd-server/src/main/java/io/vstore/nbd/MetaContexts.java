package io.vstore.nbd;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.DepthExtent;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Builds the metadata contexts vstore exports: allocation, dirty bitmaps, allocation depth. */
public final class MetaContexts {
  /** Name of the standard allocation context. */
  public static final String BASE_ALLOCATION = "base:allocation";
  /** Name of QEMU's allocation-depth context. */
  public static final String ALLOCATION_DEPTH = "qemu:allocation-depth";
  /** Prefix of QEMU's dirty-bitmap contexts; the rest of the name is the bitmap (change id). */
  public static final String DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";

  private MetaContexts() {}

  /** How a context describes a range; see {@link MetaContextSource#status}. */
  @FunctionalInterface
  private interface Status {
    List<StatusExtent> of(long offset, long length) throws IOException;
  }

  /** Returns the context {@code name} of {@code owner} (an export's device, for messages). */
  private static MetaContextSource source(String name, Object owner, Status status) {
    return new MetaContextSource() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public List<StatusExtent> status(long offset, long length) throws IOException {
        return status.of(offset, length);
      }

      @Override
      public String toString() {
        return name + " of " + owner;
      }
    };
  }

  /** Returns {@code base:allocation} for {@code device}: holes are HOLE|ZERO, zero extents ZERO. */
  public static MetaContextSource baseAllocation(BlockDevice device) {
    return source(BASE_ALLOCATION, device, (offset, length) -> {
      return fromExtents(device.allocation(offset, length), kind -> switch (kind) {
        case DATA -> 0;
        case ZERO -> Nbd.STATE_ZERO;
        case HOLE -> Nbd.STATE_HOLE | Nbd.STATE_ZERO;
      });
    });
  }

  /**
   * Returns {@code qemu:allocation-depth} for {@code device}: for a vstore volume or snapshot, the
   * layer of its clone chain (see {@link #allocationDepth(Volume)}); for any other device, which
   * has no history, depth 1 where allocated (data or recorded zeros) and 0 for holes.
   */
  public static MetaContextSource allocationDepth(BlockDevice device) {
    if (device instanceof Volume volume) {
      return allocationDepth(volume);
    }
    return source(ALLOCATION_DEPTH, device, (offset, length) -> {
      return fromExtents(device.allocation(offset, length), kind -> kind == Extent.Kind.HOLE ? 0 : 1);
    });
  }

  /**
   * Returns {@code qemu:allocation-depth} for a volume or {@code VOLUME@SNAP} view, with QEMU's
   * meaning: 0 where no layer holds the range, 1 where the volume itself does, 2 where the
   * snapshot it is a linked clone of does, 3 for that snapshot's parent, and so on.
   */
  public static MetaContextSource allocationDepth(Volume volume) {
    return source(ALLOCATION_DEPTH, volume, (offset, length) -> {
      List<DepthExtent> depths = volume.allocationDepth(offset, length);
      List<StatusExtent> out = new ArrayList<>(depths.size());
      for (DepthExtent d : depths) {
        out.add(new StatusExtent(d.length(), d.depth()));
      }
      return merge(out);
    });
  }

  /**
   * Returns {@code qemu:dirty-bitmap:<bitmap>}: bit 0 set on the ranges {@code changes} reports
   * for a device of {@code size} bytes.
   */
  public static MetaContextSource dirtyBitmap(String bitmap, long size, ChangedAreas changes) {
    if (bitmap.isEmpty() || (DIRTY_BITMAP_PREFIX + bitmap).length() > Nbd.MAX_STRING) {
      throw new IllegalArgumentException("bad dirty bitmap name: '" + bitmap + "'");
    }
    String name = DIRTY_BITMAP_PREFIX + bitmap;
    return new MetaContextSource() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public List<StatusExtent> status(long offset, long length) throws IOException {
        long end = Math.min(size, offset + length);
        List<StatusExtent> out = new ArrayList<>();
        long pos = offset;
        long previousEnd = Long.MIN_VALUE;
        for (ChangedAreas.Area area : changes.changed(offset, end - offset)) {
          if (area.offset() < previousEnd) {
            throw new IOException("bad changed areas for " + name + ": area at " + area.offset()
                + " overlaps or precedes the area ending at " + previousEnd);
          }
          previousEnd = area.end();
          long start = Math.max(area.offset(), pos);
          long stop = Math.min(area.end(), end);
          if (stop <= start) {
            continue;
          }
          if (start > pos) {
            out.add(new StatusExtent(start - pos, 0));
          }
          out.add(new StatusExtent(stop - start, Nbd.STATE_DIRTY));
          pos = stop;
        }
        if (pos < end) {
          out.add(new StatusExtent(end - pos, 0));
        }
        return merge(out);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  private interface KindFlags {
    int flags(Extent.Kind kind);
  }

  private static List<StatusExtent> fromExtents(List<Extent> extents, KindFlags map) {
    List<StatusExtent> out = new ArrayList<>(extents.size());
    for (Extent e : extents) {
      out.add(new StatusExtent(e.length(), map.flags(e.kind())));
    }
    return merge(out);
  }

  /** Merges neighbouring runs with equal flags, as proto.md asks servers to. */
  static List<StatusExtent> merge(List<StatusExtent> in) {
    List<StatusExtent> out = new ArrayList<>(in.size());
    for (StatusExtent e : in) {
      if (!out.isEmpty() && out.getLast().flags() == e.flags()) {
        out.set(out.size() - 1, new StatusExtent(out.getLast().length() + e.length(), e.flags()));
      } else {
        out.add(e);
      }
    }
    return out;
  }
}
