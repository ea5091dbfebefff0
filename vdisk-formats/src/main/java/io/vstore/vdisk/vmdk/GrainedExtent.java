package io.vstore.vdisk.vmdk;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * An extent mapped grain by grain through grain tables of {@code gtes} entries each: runs of one
 * kind are found grain by grain, a whole unallocated table at a time, and requests are split at
 * grain boundaries.
 */
abstract sealed class GrainedExtent extends FileExtent permits SparseExtent, SeSparseExtent {
  private final long grainBytes;
  private final int gtes;

  /** Wraps {@code channel} for an extent of {@code size} bytes in grains of {@code grainBytes}, {@code gtes} a table. */
  GrainedExtent(Path file, FileChannel channel, long size, long grainBytes, int gtes) {
    super(file, channel, size);
    this.grainBytes = grainBytes;
    this.gtes = gtes;
  }

  /** Returns the grain size in bytes. */
  final long grainBytes() {
    return grainBytes;
  }

  /** Returns the number of entries in one grain table. */
  final int gtes() {
    return gtes;
  }

  /** Returns the kind of {@code grain}, or null when its whole grain table is unallocated. */
  abstract Extent.Kind grainKind(long grain) throws IOException;

  @Override
  public final Run run(long offset, long max) throws IOException {
    long grain = offset / grainBytes;
    Extent.Kind first = grainKind(grain);
    Extent.Kind kind = first == null ? Extent.Kind.HOLE : first;
    long end = offset + max;
    long pos = (grain + 1) * grainBytes;
    while (pos < end) {
      grain = pos / grainBytes;
      Extent.Kind next = grainKind(grain);
      if (next == null) {
        // A whole unallocated table is one hole: skip it without visiting its grains.
        if (kind != Extent.Kind.HOLE) {
          break;
        }
        pos = (grain / gtes + 1) * gtes * grainBytes;
        continue;
      }
      if (next != kind) {
        break;
      }
      pos += grainBytes;
    }
    return new Run(kind, Math.min(end, pos) - offset);
  }

  /** One piece of a request that lies inside one grain. */
  @FunctionalInterface
  interface GrainPiece {
    /** Handles {@code part}, the request's bytes at {@code in} inside grain {@code grain}. */
    void apply(long grain, int in, ByteBuffer part) throws IOException;
  }

  /** Splits the bytes of {@code buf}, at guest {@code offset}, at grain boundaries, consuming {@code buf}. */
  final void eachGrain(long offset, ByteBuffer buf, GrainPiece piece) throws IOException {
    while (buf.hasRemaining()) {
      long grain = offset / grainBytes;
      int in = (int) (offset % grainBytes);
      int n = (int) Math.min(buf.remaining(), grainBytes - in);
      piece.apply(grain, in, buf.slice(buf.position(), n));
      buf.position(buf.position() + n);
      offset += n;
    }
  }
}
