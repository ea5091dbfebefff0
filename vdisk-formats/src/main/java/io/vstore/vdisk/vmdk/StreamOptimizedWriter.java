package io.vstore.vdisk.vmdk;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageInfo;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Writes a streamOptimized VMDK while it is being created: writes come in ascending order, each
 * grain is compressed (deflate, with a grain marker) by a pool of threads, one per core, and the
 * compressed grains are appended in order by the writing thread. Closing appends the grain tables
 * and directory with their markers, the footer and the end-of-stream marker, as VMware does
 * (the header's gdOffset is "at end").
 *
 * <p>With {@code zeroed_grain} (the header's zero-grain flag) the stream can say "zeros here" where
 * a plain stream can only leave a grain out: a grain written as all zeros, or covered by
 * {@link #writeZeroes}, gets grain table entry 1 (a zero grain) instead of no entry. That is what a
 * delta disk needs, where a missing grain means "the parent's data" and a zero grain hides it.
 *
 * <p>An interrupted stream has no footer and is reported as incomplete by check. All methods are
 * synchronized: a stream has a single order.
 */
final class StreamOptimizedWriter implements DiskImage {
  private static final int SECTOR = 512;
  private static final long GRAIN_SECTORS = VmdkCreator.GRAIN_SECTORS;
  private static final int GRAIN = (int) (GRAIN_SECTORS * SECTOR);
  private static final int GTES = VmdkCreator.GTES;
  /** First data sector: header, descriptor and padding fill the first 64 KiB, as VMware writes. */
  private static final long OVERHEAD = 128;
  private static final int OUT_BUFFER = 4 << 20;
  /** Bytes sampled from a grain to decide whether it is worth compressing hard. */
  private static final int SAMPLE = 4096;
  /**
   * A sample that the fastest deflate shrinks by less than this fraction is treated as
   * incompressible: the grain is then stored (deflate level 0), which costs a copy instead of a
   * futile match search and is as small as level 6 would make it.
   */
  private static final double INCOMPRESSIBLE = 0.97;
  private static final int LEVEL = 6;
  /** Grain table entry of a zero grain (with the zero-grain flag): sector 1 is inside the header, never a grain. */
  private static final int ZERO_GTE = 1;

  private final Path path;
  private final FileChannel channel;
  private final long capacity;
  private final long size;
  private final Descriptor descriptor;
  private final SparseHeader header;
  private final boolean zeroGrains;
  private final ExecutorService pool;
  private final int maxInflight;
  private final ArrayDeque<Pending> inflight = new ArrayDeque<>();
  private final int[][] tables;
  private final ByteBuffer out = ByteBuffer.allocateDirect(OUT_BUFFER);
  // Grain buffers go round between the writing thread and the compressors instead of being
  // allocated (and zeroed) per grain: at 64 KiB a grain, that churn would cost more than deflate.
  @GuardedBy("this")
  private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
  private long outPos; // file offset of out's first byte
  private byte[] current;
  private long currentGrain = -1;
  private long watermark;
  private boolean closed;

  private record Pending(long grain, byte[] input, Future<byte[]> data) {}

  private static final byte[] ZERO_GRAIN = new byte[GRAIN];
  /** Per-compressor output buffer, large enough for any deflate of one grain plus its marker. */
  private static final ThreadLocal<byte[]> SCRATCH =
      ThreadLocal.withInitial(() -> new byte[GrainMarker.GRAIN_HEADER + GRAIN + GRAIN / 8 + 1024]);
  private static final ThreadLocal<Deflater[]> DEFLATERS = ThreadLocal.withInitial(
      () -> new Deflater[] {new Deflater(Deflater.BEST_SPEED), new Deflater(LEVEL), new Deflater(Deflater.NO_COMPRESSION)});

  private StreamOptimizedWriter(Path path, FileChannel channel, long capacity, Descriptor descriptor, boolean zeroGrains) {
    this.path = path;
    this.zeroGrains = zeroGrains;
    this.channel = channel;
    this.capacity = capacity;
    this.size = capacity * SECTOR;
    this.descriptor = descriptor;
    int flags = SparseHeader.FLAG_NL_DETECT | SparseHeader.FLAG_COMPRESSED | SparseHeader.FLAG_MARKERS
        | (zeroGrains ? SparseHeader.FLAG_ZERO_GRAIN : 0);
    this.header = new SparseHeader(3, flags, capacity, GRAIN_SECTORS, 1, VmdkCreator.DESCRIPTOR_SECTORS, GTES, 0,
        SparseHeader.GD_AT_END, OVERHEAD, false, SparseHeader.COMPRESS_DEFLATE);
    long grains = (capacity + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
    this.tables = new int[(int) ((grains + GTES - 1) / GTES)][];
    int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "vmdk-deflate " + path.getFileName());
      t.setDaemon(true);
      return t;
    });
    this.maxInflight = threads * 8;
    this.outPos = OVERHEAD * SECTOR;
  }

  /** Whether close() syncs the file; false with {@code cache=unsafe}, as qemu-img convert's default. */
  private boolean syncOnClose = true;

  /**
   * Creates {@code path} and returns the open stream; {@code syncOnClose} false skips the final
   * fsync; {@code zeroGrains} records zeros as zero grains instead of leaving them out.
   */
  static StreamOptimizedWriter create(Path path, long capacity, Descriptor descriptor, boolean syncOnClose,
      boolean zeroGrains, ImageFiles files) throws IOException {
    long grains = (capacity + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
    long gtCount = (grains + GTES - 1) / GTES;
    if (gtCount * 4 > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException("vmdk: streamOptimized size of " + capacity + " sectors too large");
    }
    FileChannel ch = files.create(path);
    StreamOptimizedWriter w;
    try {
      w = new StreamOptimizedWriter(path, ch, capacity, descriptor, zeroGrains);
      w.syncOnClose = syncOnClose;
      ByteBuffer head = ByteBuffer.allocate((int) (OVERHEAD * SECTOR));
      w.header.write(head);
      byte[] text = descriptor.toText().getBytes(StandardCharsets.UTF_8);
      if (text.length > VmdkCreator.DESCRIPTOR_SECTORS * SECTOR) {
        throw new IllegalArgumentException("vmdk: descriptor too long");
      }
      head.put(text);
      FileContent.writeFully(ch, 0, head.clear());
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
    return w;
  }

  @Override
  public synchronized boolean sequentialWritesOnly() {
    return !closed;
  }

  @Override
  public Path path() {
    return path;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public Optional<DiskImage> backing() {
    return Optional.empty();
  }

  private void checkOpen() {
    if (closed) {
      throw new AlreadyClosedException(this);
    }
  }

  private void checkOrder(long offset) {
    if (offset < watermark) {
      throw new IllegalStateException(this + ": streamOptimized is written in ascending order; offset " + offset
          + " comes after " + watermark);
    }
  }

  @Override
  public synchronized void write(long offset, ByteBuffer src) throws IOException {
    OutOfRangeException.check(this, offset, src.remaining());
    checkOpen();
    checkOrder(offset);
    while (src.hasRemaining()) {
      long grain = offset / GRAIN;
      int in = (int) (offset % GRAIN);
      int n = Math.min(src.remaining(), GRAIN - in);
      if (grain != currentGrain) {
        emitCurrent();
        currentGrain = grain;
        current = takeBuffer();
      }
      src.get(current, in, n);
      offset += n;
      watermark = offset;
    }
  }

  @Override
  public synchronized void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    OutOfRangeException.check(this, offset, length);
    checkOpen();
    checkOrder(offset);
    if (!zeroGrains) {
      // Bytes past the watermark were never written: they already read as zeros.
      watermark = offset + length;
      return;
    }
    long end = offset + length;
    while (offset < end) {
      long grain = offset / GRAIN;
      long grainEnd = Math.min((grain + 1) * GRAIN, size);
      if (offset == grain * GRAIN && end >= grainEnd && grain != currentGrain) {
        // A whole grain: its entry says so directly, nothing goes through the compressors.
        emitCurrent();
        setEntry(grain, ZERO_GTE);
        offset = grainEnd;
      } else {
        // Part of a grain: the grain is written (zeros where nothing else is) and decided when emitted.
        int n = (int) (Math.min(end, grainEnd) - offset);
        write(offset, ByteBuffer.wrap(ZERO_GRAIN, 0, n));
        offset += n;
      }
      watermark = offset;
    }
  }

  private void setEntry(long grain, int entry) {
    int table = (int) (grain / GTES);
    if (tables[table] == null) {
      tables[table] = new int[GTES];
    }
    tables[table][(int) (grain % GTES)] = entry;
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  /** Returns a zeroed grain buffer, reusing one whose grain is already written. */
  private byte[] takeBuffer() {
    byte[] b = spare.poll();
    if (b == null) {
      return new byte[GRAIN];
    }
    java.util.Arrays.fill(b, (byte) 0);
    return b;
  }

  private void emitCurrent() throws IOException {
    if (currentGrain < 0) {
      return;
    }
    byte[] data = current;
    long grain = currentGrain;
    current = null;
    currentGrain = -1;
    inflight.add(new Pending(grain, data, pool.submit(() -> compress(grain, data))));
    while (inflight.size() >= maxInflight || (!inflight.isEmpty() && inflight.peek().data().isDone())) {
      append(inflight.poll());
    }
  }

  /** Returns the grain marker and deflate data padded to a sector, or null for a zero grain. */
  private static byte[] compress(long grain, byte[] data) {
    if (isZero(data)) {
      return null;
    }
    Deflater[] d = DEFLATERS.get();
    byte[] buf = SCRATCH.get();
    Deflater deflater = incompressible(d[0], data, buf) ? d[2] : d[1];
    deflater.reset();
    deflater.setInput(data);
    deflater.finish();
    int n = deflater.deflate(buf, GrainMarker.GRAIN_HEADER, buf.length - GrainMarker.GRAIN_HEADER);
    if (!deflater.finished()) {
      throw new IllegalStateException("deflate of one grain exceeded its bound");
    }
    ByteBuffer m = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
    new GrainMarker(grain * GRAIN_SECTORS, n, GrainMarker.TYPE_GRAIN).write(m);
    int total = GrainMarker.GRAIN_HEADER + n;
    int padded = (total + SECTOR - 1) / SECTOR * SECTOR;
    byte[] result = java.util.Arrays.copyOf(buf, padded);
    java.util.Arrays.fill(result, total, padded, (byte) 0);
    return result;
  }

  private static boolean incompressible(Deflater fast, byte[] data, byte[] scratch) {
    for (int at : new int[] {0, data.length / 2}) {
      fast.reset();
      fast.setInput(data, at, SAMPLE);
      fast.finish();
      int n = fast.deflate(scratch, 0, SAMPLE + 256);
      if (!fast.finished() || n < SAMPLE * INCOMPRESSIBLE) {
        return false;
      }
    }
    return true;
  }

  private static boolean isZero(byte[] data) {
    return java.util.Arrays.mismatch(data, ZERO_GRAIN) < 0;
  }

  private void append(Pending p) throws IOException {
    byte[] data;
    try {
      data = p.data().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(this + ": interrupted while compressing");
    } catch (ExecutionException e) {
      throw new IOException(this + ": compressing grain " + p.grain() + " failed", e.getCause());
    }
    if (spare.size() < maxInflight + 2) {
      spare.push(p.input());
    }
    if (data == null) {
      if (zeroGrains) {
        setEntry(p.grain(), ZERO_GTE);
      }
      return;
    }
    long sector = (outPos + out.position()) / SECTOR;
    put(data);
    setEntry(p.grain(), (int) sector);
  }

  private void put(byte[] data) throws IOException {
    int at = 0;
    while (at < data.length) {
      int n = Math.min(out.remaining(), data.length - at);
      out.put(data, at, n);
      at += n;
      if (!out.hasRemaining()) {
        drainOut();
      }
    }
  }

  private void drainOut() throws IOException {
    out.flip();
    int n = out.remaining();
    FileContent.writeFully(channel, outPos, out);
    outPos += n;
    out.clear();
  }

  private void drainPipeline() throws IOException {
    while (!inflight.isEmpty()) {
      append(inflight.poll());
    }
  }

  @Override
  public synchronized void flush() throws IOException {
    checkOpen();
    drainPipeline();
    drainOut();
    channel.force(true);
  }

  @Override
  public synchronized void read(long offset, ByteBuffer dst) throws IOException {
    OutOfRangeException.check(this, offset, dst.remaining());
    checkOpen();
    drainPipeline();
    drainOut();
    while (dst.hasRemaining()) {
      long grain = offset / GRAIN;
      int in = (int) (offset % GRAIN);
      int n = Math.min(dst.remaining(), GRAIN - in);
      if (grain == currentGrain) {
        dst.put(current, in, n);
      } else {
        int[] t = tables[(int) (grain / GTES)];
        long gte = t == null ? 0 : Integer.toUnsignedLong(t[(int) (grain % GTES)]);
        if (gte == 0 || gte == ZERO_GTE) {
          FileContent.zero(dst.slice(dst.position(), n));
          dst.position(dst.position() + n);
        } else {
          dst.put(readGrain(grain, gte), in, n);
        }
      }
      offset += n;
    }
  }

  private byte[] readGrain(long grain, long gte) throws IOException {
    ByteBuffer m = ByteBuffer.allocate(GrainMarker.GRAIN_HEADER);
    ChannelIo.readFully(channel, gte * SECTOR, m, path + ": grain marker");
    GrainMarker marker = GrainMarker.read(m.flip());
    byte[] in = new byte[marker.size()];
    ChannelIo.readFully(channel, gte * SECTOR + GrainMarker.GRAIN_HEADER, ByteBuffer.wrap(in), path + ": grain");
    byte[] data = new byte[GRAIN];
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(in);
      inflater.inflate(data);
    } catch (DataFormatException e) {
      throw new CorruptImageException("bad vmdk: " + path + ": grain " + grain + " written by this stream does not inflate", e);
    } finally {
      inflater.end();
    }
    return data;
  }

  @Override
  public synchronized List<Extent> allocation(long offset, long length) throws IOException {
    OutOfRangeException.check(this, offset, length);
    checkOpen();
    drainPipeline();
    List<Extent> result = new ArrayList<>();
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      long grain = pos / GRAIN;
      long n = Math.min(end - pos, (grain + 1) * GRAIN - pos);
      int[] t = tables[(int) (grain / GTES)];
      int gte = t == null ? 0 : t[(int) (grain % GTES)];
      Extent.Kind kind = grain == currentGrain ? Extent.Kind.DATA
          : gte == 0 ? Extent.Kind.HOLE : gte == ZERO_GTE ? Extent.Kind.ZERO : Extent.Kind.DATA;
      if (!result.isEmpty() && result.getLast().kind() == kind) {
        Extent last = result.removeLast();
        result.add(new Extent(last.offset(), last.length() + n, kind));
      } else {
        result.add(new Extent(pos, n, kind));
      }
      pos += n;
    }
    return result;
  }

  @Override
  public synchronized ImageInfo info() throws IOException {
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("cid", descriptor.cid());
    details.put("parentCid", descriptor.parentCid());
    details.put("createType", descriptor.createType());
    details.put("streaming", !closed);
    descriptor.ddb().forEach(details::put);
    return new ImageInfo(path.toString(), "vmdk", "streamOptimized", size, channel.isOpen() ? channel.size() : 0, GRAIN, null,
        List.of(path.toString()), details);
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      emitCurrent();
      drainPipeline();
      finish();
      drainOut();
      if (syncOnClose) {
        channel.force(true);
      }
    } finally {
      pool.shutdownNow();
      channel.close();
    }
  }

  /** Appends the grain tables, the directory, the footer and the end-of-stream marker. */
  private void finish() throws IOException {
    int gtSectors = GTES * 4 / SECTOR;
    int[] gd = new int[tables.length];
    ByteBuffer meta = ByteBuffer.allocate(SECTOR + GTES * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < tables.length; i++) {
      if (tables[i] == null) {
        continue;
      }
      meta.clear();
      new GrainMarker(gtSectors, 0, GrainMarker.TYPE_GT).write(meta);
      gd[i] = (int) ((outPos + out.position()) / SECTOR + 1);
      for (int e : tables[i]) {
        meta.putInt(e);
      }
      put(meta.array());
    }
    int gdSectors = (tables.length * 4 + SECTOR - 1) / SECTOR;
    ByteBuffer gdBuf = ByteBuffer.allocate(SECTOR + gdSectors * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    new GrainMarker(gdSectors, 0, GrainMarker.TYPE_GD).write(gdBuf);
    long gdSector = (outPos + out.position()) / SECTOR + 1;
    for (int e : gd) {
      gdBuf.putInt(e);
    }
    put(gdBuf.array());
    ByteBuffer tail = ByteBuffer.allocate(3 * SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    new GrainMarker(1, 0, GrainMarker.TYPE_FOOTER).write(tail);
    header.withGdOffset(gdSector).write(tail);
    new GrainMarker(0, 0, GrainMarker.TYPE_EOS).write(tail);
    put(tail.array());
  }

  @Override
  public String toString() {
    return "vmdk " + path;
  }
}
