package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.Extent;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.qcow2.Qcow2Entries.State;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns guest ranges into runs of one {@link State} by walking the L2 tables, and reads them:
 * data from the file, compressed clusters inflated, holes from the backing image.
 */
final class Qcow2Reader {
  /** Copies L2 words under the image's lock. */
  @FunctionalInterface
  interface Lookup {
    /**
     * Returns the words of {@code count} entries from guest {@code cluster}, all in one L2 table,
     * or null when there is no such table (every entry zero: unallocated).
     */
    long[] lookup(long cluster, int count) throws IOException;
  }

  /** Receives the runs of a walk, in guest order. */
  @FunctionalInterface
  interface RunSink {
    /**
     * Takes {@code length} guest bytes from {@code offset} in {@code state}; {@code host} is the
     * host offset of the first byte for {@link State#DATA}, {@code entry} the descriptor for
     * {@link State#COMPRESSED} (whose runs never cross a cluster).
     */
    void run(long offset, long length, State state, long host, long entry) throws IOException;
  }

  private final String file;
  private final FileChannel channel;
  private final FileChannel data;
  private final Qcow2Entries layout;
  private final DiskImage backing;
  private final Lookup lookup;
  private final int clusterBits;
  private final int clusterSize;
  private final int compressionType;
  private final long size;

  /**
   * Creates a reader of {@code channel} (compressed clusters) and {@code data} (data clusters, the
   * same channel unless the image has an external data file) that finds entries through {@code lookup}.
   */
  Qcow2Reader(String file, FileChannel channel, FileChannel data, Qcow2Header header, Qcow2Entries layout,
      DiskImage backing, Lookup lookup) {
    this.file = file;
    this.channel = channel;
    this.data = data;
    this.layout = layout;
    this.backing = backing;
    this.lookup = lookup;
    this.clusterBits = header.clusterBits();
    this.clusterSize = header.clusterSize();
    this.compressionType = header.compressionType();
    this.size = header.size();
  }

  /** Walks {@code [offset, offset + length)}, merging neighbours of one state (data only when contiguous). */
  void walk(long offset, long length, RunSink sink) throws IOException {
    long end = offset + length;
    long pos = offset;
    long runStart = offset;
    long runLength = 0;
    State runState = null;
    long runHost = 0;
    long runEntry = 0;
    while (pos < end) {
      long cluster = pos >>> clusterBits;
      int count = layout.clustersInTable(cluster, ((end - 1) >>> clusterBits) - cluster + 1);
      long[] words = lookup.lookup(cluster, count);
      if (words == null) {
        // No L2 table: the whole stretch reads from the backing image (or as zeros), in one run.
        long stretchEnd = Math.min(end, (cluster + count) << clusterBits);
        if (runState == State.BACKING) {
          runLength += stretchEnd - pos;
        } else {
          if (runState != null) {
            sink.run(runStart, runLength, runState, runHost, runEntry);
          }
          runStart = pos;
          runLength = stretchEnd - pos;
          runState = State.BACKING;
          runHost = 0;
          runEntry = 0;
        }
        pos = stretchEnd;
        continue;
      }
      for (int i = 0; i < count && pos < end; i++) {
        long c = cluster + i;
        long e = words[i * layout.stride];
        long bitmap = layout.extended ? words[i * 2 + 1] : 0;
        long clusterStart = c << clusterBits;
        long clusterEnd = Math.min(clusterStart + clusterSize, end);
        while (pos < clusterEnd) {
          int sc = (int) ((pos - clusterStart) >>> layout.subclusterBits);
          State s = layout.state(e, bitmap, sc, c);
          long next = clusterEnd;
          if (layout.extended && s != State.COMPRESSED) {
            int k = sc + 1;
            while (k < Qcow2Entries.SUBCLUSTERS && layout.state(e, bitmap, k, c) == s) {
              k++;
            }
            next = Math.min(clusterStart + ((long) k << layout.subclusterBits), clusterEnd);
          }
          long host = s == State.DATA ? layout.hostOffset(e, c) + (pos - clusterStart) : 0;
          boolean joins = s == runState && s != State.COMPRESSED
              && (s != State.DATA || runHost + runLength == host);
          if (joins) {
            runLength += next - pos;
          } else {
            if (runState != null) {
              sink.run(runStart, runLength, runState, runHost, runEntry);
            }
            runStart = pos;
            runLength = next - pos;
            runState = s;
            runHost = host;
            runEntry = e;
          }
          pos = next;
        }
      }
    }
    if (runState != null) {
      sink.run(runStart, runLength, runState, runHost, runEntry);
    }
  }

  /** Reads guest bytes from {@code offset} into {@code dst} (within the image size). */
  void read(long offset, ByteBuffer dst) throws IOException {
    int base = dst.position();
    walk(offset, dst.remaining(), (pos, length, state, host, entry) -> {
      ByteBuffer part = dst.slice(base + (int) (pos - offset), (int) length);
      switch (state) {
        case DATA -> Qcow2Io.readOrZero(data, host, part);
        case BACKING -> readBacking(pos, part);
        case ZERO -> fillZeros(part);
        case COMPRESSED -> part.put(decompress(entry, pos >>> clusterBits), (int) (pos & (clusterSize - 1)),
            (int) length);
      }
    });
    dst.position(dst.limit());
  }

  /** Returns the content of guest {@code cluster} as a whole cluster (zeros past the image's end). */
  byte[] cluster(long cluster) throws IOException {
    long start = cluster << clusterBits;
    byte[] out = new byte[clusterSize];
    read(start, ByteBuffer.wrap(out, 0, (int) Math.min(clusterSize, size - start)));
    return out;
  }

  /** Returns the allocation of {@code [offset, offset + length)}, holes resolved through the backing image. */
  List<Extent> allocation(long offset, long length) throws IOException {
    List<Extent> out = new ArrayList<>();
    walk(offset, length, (pos, n, state, host, entry) -> {
      long runEnd = pos + n;
      switch (state) {
        case DATA, COMPRESSED -> add(out, new Extent(pos, n, Extent.Kind.DATA));
        case ZERO -> add(out, new Extent(pos, n, Extent.Kind.ZERO));
        case BACKING -> {
          long bEnd = backing == null ? pos : Math.min(runEnd, backing.size());
          if (bEnd > pos) {
            for (Extent e : backing.allocation(pos, bEnd - pos)) {
              add(out, e);
            }
          }
          if (runEnd > Math.max(pos, bEnd)) {
            add(out, new Extent(Math.max(pos, bEnd), runEnd - Math.max(pos, bEnd), Extent.Kind.HOLE));
          }
        }
      }
    });
    return out;
  }

  /** Returns whether {@code [offset, offset + length)} reads zeros when unallocated here (no backing data there). */
  boolean backingReadsZeros(long offset, long length) throws IOException {
    if (backing == null || offset >= backing.size()) {
      return true;
    }
    for (Extent e : backing.allocation(offset, Math.min(length, backing.size() - offset))) {
      if (!e.kind().readsAsZeros()) {
        return false;
      }
    }
    return true;
  }

  private static void add(List<Extent> out, Extent e) {
    if (!out.isEmpty()) {
      Extent last = out.getLast();
      if (last.kind() == e.kind() && last.end() == e.offset()) {
        out.set(out.size() - 1, new Extent(last.offset(), last.length() + e.length(), e.kind()));
        return;
      }
    }
    out.add(e);
  }

  private static void fillZeros(ByteBuffer b) {
    while (b.hasRemaining()) {
      b.put((byte) 0);
    }
  }

  private void readBacking(long pos, ByteBuffer dst) throws IOException {
    if (backing != null && pos < backing.size()) {
      int n = (int) Math.min(dst.remaining(), backing.size() - pos);
      backing.read(pos, dst.slice(dst.position(), n));
      dst.position(dst.position() + n);
    }
    fillZeros(dst);
  }

  private byte[] decompress(long e, long cluster) throws IOException {
    if (data != channel) {
      throw new CorruptImageException("bad qcow2: " + file + " has a compressed cluster at guest offset "
          + (cluster << clusterBits) + " but uses an external data file (the spec allows none)");
    }
    long off = layout.compressedOffset(e);
    int length = layout.compressedSectors(e) * 512 - (int) (off & 511);
    ByteBuffer src = ByteBuffer.allocate(length);
    Qcow2Io.readOrZero(channel, off, src);
    byte[] out = new byte[clusterSize];
    Qcow2Codec.decompress(compressionType, src.array(), length, out, file, cluster << clusterBits);
    return out;
  }
}
