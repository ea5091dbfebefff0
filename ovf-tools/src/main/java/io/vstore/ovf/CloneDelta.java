package io.vstore.ovf;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.DepthExtent;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.FileContent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A read-only view of a linked clone as a {@code parentRef} delta over the snapshot it was cloned
 * from (ovftool's delta disks), at the granularity of the delta's grains: a VMDK grain in a delta
 * replaces the parent's whole grain, so every grain the clone holds anything of itself (data, or
 * zeros and discards that hide the parent's data) reads as the clone's full view of that grain, and
 * is reported as data, or as zeros when the clone's view of it is all zeros (the writer makes those
 * zero grains). Grains the clone only inherits read as zeros and are reported as holes: the parent
 * shows through them.
 */
final class CloneDelta implements BlockDevice {
  private final Volume clone;
  private final long grain;

  /** A delta of {@code clone} in grains of {@code grain} bytes (a power of two). */
  CloneDelta(Volume clone, int grain) {
    this.clone = clone;
    this.grain = grain;
  }

  @Override
  public long size() {
    return clone.size();
  }

  /** Returns the grain-aligned ranges of {@code [offset, offset + length)}'s grains that the clone holds itself. */
  private List<long[]> ownRanges(long offset, long length) throws IOException {
    long from = offset / grain * grain;
    long to = Math.min(size(), (offset + length + grain - 1) / grain * grain);
    List<long[]> own = new ArrayList<>();
    for (DepthExtent e : clone.allocationDepth(from, to - from)) {
      if (e.depth() != 1) {
        continue;
      }
      long start = e.offset() / grain * grain;
      long end = Math.min(size(), (e.end() + grain - 1) / grain * grain);
      if (!own.isEmpty() && own.getLast()[1] >= start) {
        own.getLast()[1] = Math.max(own.getLast()[1], end);
      } else {
        own.add(new long[] {start, end});
      }
    }
    // Clip to the range asked for.
    List<long[]> out = new ArrayList<>();
    for (long[] r : own) {
      long s = Math.max(r[0], offset);
      long t = Math.min(r[1], offset + length);
      if (s < t) {
        out.add(new long[] {s, t});
      }
    }
    return out;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    if (length == 0) {
      return;
    }
    int base = dst.position();
    FileContent.zero(dst.duplicate());
    for (long[] r : ownRanges(offset, length)) {
      ByteBuffer part = dst.duplicate();
      int at = base + (int) (r[0] - offset);
      part.limit(at + (int) (r[1] - r[0])).position(at);
      clone.read(r[0], part);
    }
    dst.position(base + length);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    List<Extent> out = new ArrayList<>();
    long pos = offset;
    for (long[] r : ownRanges(offset, length)) {
      if (r[0] > pos) {
        out.add(new Extent(pos, r[0] - pos, Extent.Kind.HOLE));
      }
      for (Extent e : clone.allocation(r[0], r[1] - r[0])) {
        Extent.Kind kind = e.kind().readsAsZeros() ? Extent.Kind.ZERO : Extent.Kind.DATA;
        if (!out.isEmpty() && out.getLast().kind() == kind && out.getLast().end() == e.offset()) {
          Extent last = out.removeLast();
          out.add(new Extent(last.offset(), last.length() + e.length(), kind));
        } else {
          out.add(new Extent(e.offset(), e.length(), kind));
        }
      }
      pos = r[1];
    }
    if (pos < offset + length) {
      out.add(new Extent(pos, offset + length - pos, Extent.Kind.HOLE));
    }
    return out;
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void flush() {}

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public void close() {
    // the clone's handle belongs to the caller
  }

  @Override
  public String toString() {
    return "delta of " + clone;
  }
}
