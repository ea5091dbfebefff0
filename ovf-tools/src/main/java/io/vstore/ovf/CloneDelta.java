package io.vstore.ovf;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.DepthExtent;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A read-only view of a linked clone holding only what the clone itself wrote: ranges it inherits
 * from the snapshot it was cloned from read as zeros and are reported as holes, so a VMDK written
 * from this view is a {@code parentRef} delta over that snapshot (ovftool's delta disks). Ranges the
 * clone wrote as zeros are reported as zeros, which a streamOptimized writer leaves out: a delta
 * cannot say "zero over the parent's data", so those read back as the parent's bytes.
 */
final class CloneDelta implements BlockDevice {
  private final Volume clone;

  CloneDelta(Volume clone) {
    this.clone = clone;
  }

  @Override
  public long size() {
    return clone.size();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    if (length == 0) {
      return;
    }
    for (DepthExtent e : clone.allocationDepth(offset, length)) {
      int at = dst.position() + (int) (e.offset() - offset);
      ByteBuffer part = dst.duplicate();
      part.limit(at + (int) e.length()).position(at);
      if (e.depth() == 1) {
        clone.read(e.offset(), part);
      } else {
        while (part.hasRemaining()) {
          part.put((byte) 0);
        }
      }
    }
    dst.position(dst.position() + length);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    List<Extent> out = new ArrayList<>();
    for (DepthExtent e : clone.allocationDepth(offset, length)) {
      if (e.depth() == 1) {
        out.addAll(clone.allocation(e.offset(), e.length()));
      } else {
        out.add(new Extent(e.offset(), e.length(), Extent.Kind.HOLE));
      }
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
