package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import io.vstore.vdisk.CorruptImageException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.zip.Deflater;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The streamOptimized reader's batches and inflating workers against a model: seeded random disks
 * (grain sizes from 512 bytes to 1 MiB, a short last grain, grains present or absent, of zeros,
 * of random bytes or of text, in disk order or shuffled, metadata markers between them) are written
 * as a stream by hand, read into a device and compared with the bytes they were made from; a grain
 * of zeros is never written. Then one grain is corrupted (its deflate data, its header, its
 * checksum, or cut short): the copy must fail with a {@link CorruptImageException} that names that
 * grain's LBA and its marker's offset. A failure names the seed ({@link ModelRun}). Every seed
 * runs twice: grains inflated by libdeflate (where the system has it) and by the JDK's zlib.
 */
class GrainPipelineTest {
  private static final int SECTOR = 512;
  private static final int[] GRAIN_SECTORS = {1, 8, 16, 128, 2048};

  static LongStream seeds() {
    return ModelRun.seeds(40);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void randomGrainLayoutsReadAsWritten(long seed) {
    ModelRun.run(seed, GrainPipelineTest::oneRun);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void zlibReadsTheSame(long seed) {
    String before = System.getProperty("vstore.inflate.native");
    System.setProperty("vstore.inflate.native", "false");
    try {
      ModelRun.run(seed, GrainPipelineTest::oneRun);
    } finally {
      if (before == null) {
        System.clearProperty("vstore.inflate.native");
      } else {
        System.setProperty("vstore.inflate.native", before);
      }
    }
  }

  /** One disk: its grains, what they hold, and the stream that carries them. */
  private record Disk(long capacity, int grainBytes, byte[] content, List<Grain> grains, byte[] stream) {}

  /** A grain in the stream: its LBA, where its marker starts and where its zlib data lies. */
  private record Grain(long lba, int marker, int dataStart, int dataLength, boolean zeros) {}

  private static void oneRun(ModelRun run) throws Exception {
    Random r = run.random();
    int grainSectors = GRAIN_SECTORS[r.nextInt(GRAIN_SECTORS.length)];
    int grainBytes = grainSectors * SECTOR;
    int grains = 1 + r.nextInt(Math.max(2, (4 << 20) / grainBytes));
    long capacity = (long) grains * grainBytes - (r.nextBoolean() ? SECTOR * (long) r.nextInt(grainSectors) : 0);
    boolean shuffled = r.nextInt(4) == 0;
    run.context(grains + " grains of " + grainBytes + " bytes, capacity " + capacity + (shuffled ? ", shuffled" : ""));
    Disk disk = disk(r, capacity, grainBytes, shuffled);

    run.step(0, "copy");
    RecordingDevice target = new RecordingDevice(new MemoryBlockDevice("t", capacity));
    long written = reader(disk).copyTo(new ByteArrayInputStream(disk.stream()), target, x -> { }, false);
    assertThat(Packages.bytes(target.device)).isEqualTo(disk.content());
    long expected = 0;
    for (Grain g : disk.grains()) {
      long end = Math.min(capacity, (g.lba() + grainSectors) * SECTOR);
      if (!g.zeros()) {
        expected += end - g.lba() * SECTOR;
      } else {
        assertThat(target.touches(g.lba() * SECTOR, end)).as("grain of zeros at LBA %d written", g.lba()).isFalse();
      }
    }
    assertThat(written).isEqualTo(expected);
    assertThat(target.writes).isLessThanOrEqualTo(disk.grains().size());

    run.step(1, "copy over a parent");
    byte[] parent = new byte[(int) capacity];
    r.nextBytes(parent);
    MemoryBlockDevice over = new MemoryBlockDevice("p", capacity);
    over.write(0, ByteBuffer.wrap(parent));
    reader(disk).copyTo(new ByteArrayInputStream(disk.stream()), over, x -> { }, true);
    byte[] model = parent.clone();
    for (Grain g : disk.grains()) {
      int from = (int) (g.lba() * SECTOR);
      int to = (int) Math.min(capacity, from + (long) grainBytes);
      System.arraycopy(disk.content(), from, model, from, to - from); // zeros included: they hide the parent
    }
    assertThat(Packages.bytes(over)).isEqualTo(model);

    if (disk.grains().isEmpty()) {
      return;
    }
    Grain bad = disk.grains().get(r.nextInt(disk.grains().size()));
    int how = r.nextInt(4);
    // A cut must keep the grain's padded length, or the next marker would be read from the wrong place.
    int sectors = (12 + bad.dataLength() + SECTOR - 1) / SECTOR;
    int shortest = Math.max(2, SECTOR * (sectors - 1) - 12 + 1);
    int longest = bad.dataLength() - 5;
    if (how == 3 && shortest > longest) {
      how = 2;
    }
    run.step(2, "corrupt grain at LBA " + bad.lba() + " (" + new String[] {"data", "header", "checksum", "cut"}[how] + ")");
    byte[] corrupt = disk.stream().clone();
    switch (how) {
      case 0 -> corrupt[bad.dataStart() + 2 + r.nextInt(bad.dataLength() - 6)] ^= (byte) (1 + r.nextInt(255));
      case 1 -> corrupt[bad.dataStart()] = 0x79;
      case 2 -> corrupt[bad.dataStart() + bad.dataLength() - 1 - r.nextInt(4)] ^= (byte) (1 + r.nextInt(255));
      default -> {
        // The marker claims fewer bytes: the deflate data ends early (the rest is read as padding).
        int cut = shortest + r.nextInt(longest - shortest + 1);
        ByteBuffer.wrap(corrupt).order(ByteOrder.LITTLE_ENDIAN).putInt(bad.marker() + 8, cut);
      }
    }
    MemoryBlockDevice broken = new MemoryBlockDevice("b", capacity);
    assertThatThrownBy(() -> reader(disk).copyTo(new ByteArrayInputStream(corrupt), broken, x -> { }, false))
        .isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("grain at LBA " + bad.lba() + " (marker at byte " + bad.marker() + ")");
    if (how == 3) {
      // Unchecked, a cut grain still fails: the deflate data, or the checksum after it, is missing.
      run.step(3, "copy the cut grain with checksums off");
      MemoryBlockDevice unchecked = new MemoryBlockDevice("u", capacity);
      assertThatThrownBy(() -> reader(disk).copyTo(new ByteArrayInputStream(corrupt), unchecked, x -> { }, false, false))
          .isInstanceOf(CorruptImageException.class)
          .hasMessageContaining("grain at LBA " + bad.lba() + " (marker at byte " + bad.marker() + ")");
      int trailerCut = 1 + r.nextInt(4);
      if ((12 + bad.dataLength() - trailerCut + SECTOR - 1) / SECTOR == sectors) {
        // Only the checksum cut: the deflate data is whole, and still the grain is refused unchecked.
        run.step(4, "copy with " + trailerCut + " bytes of the checksum cut, checksums off");
        byte[] cutTrailer = disk.stream().clone();
        ByteBuffer.wrap(cutTrailer).order(ByteOrder.LITTLE_ENDIAN).putInt(bad.marker() + 8, bad.dataLength() - trailerCut);
        assertThatThrownBy(() -> reader(disk).copyTo(new ByteArrayInputStream(cutTrailer), unchecked, x -> { }, false, false))
            .isInstanceOf(CorruptImageException.class)
            .hasMessageContaining("grain at LBA " + bad.lba() + " (marker at byte " + bad.marker() + ")");
      }
    }
    if (how == 2) {
      // Unchecked (the caller digests the stream): a bad trailer alone changes nothing copied.
      run.step(3, "copy with the bad checksum, checksums off");
      MemoryBlockDevice unchecked = new MemoryBlockDevice("u", capacity);
      reader(disk).copyTo(new ByteArrayInputStream(corrupt), unchecked, x -> { }, false, false);
      assertThat(Packages.bytes(unchecked)).isEqualTo(disk.content());
    }
  }

  private static StreamOptimizedReader reader(Disk disk) throws CorruptImageException {
    return StreamOptimizedReader.parse("d.vmdk", ByteBuffer.wrap(disk.stream(), 0, SECTOR));
  }

  /** Makes a disk of random grains and the stream a streamOptimized writer would make of it. */
  private static Disk disk(Random r, long capacity, int grainBytes, boolean shuffled) throws IOException {
    byte[] content = new byte[(int) capacity];
    int grainSectors = grainBytes / SECTOR;
    List<Long> lbas = new ArrayList<>();
    for (long lba = 0; lba * SECTOR < capacity; lba += grainSectors) {
      if (r.nextInt(4) != 0) {
        lbas.add(lba);
      }
    }
    if (shuffled) {
      Collections.shuffle(lbas, r);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(header(capacity / SECTOR, grainSectors));
    List<Grain> grains = new ArrayList<>();
    Deflater deflater = new Deflater(r.nextInt(10));
    byte[] text = "a line of text in a grain\n".repeat(grainBytes / 16).getBytes();
    for (long lba : lbas) {
      int from = (int) (lba * SECTOR);
      int len = (int) Math.min(grainBytes, capacity - from);
      int kind = r.nextInt(3);
      if (kind == 1) {
        byte[] random = new byte[len];
        r.nextBytes(random);
        System.arraycopy(random, 0, content, from, len);
      } else if (kind == 2) {
        System.arraycopy(text, r.nextInt(grainBytes / 2), content, from, len);
      }
      deflater.reset();
      deflater.setInput(content, from, len);
      deflater.finish();
      byte[] z = new byte[len + len / 8 + 1024];
      int n = deflater.deflate(z);
      assertThat(deflater.finished()).isTrue();
      if (r.nextInt(8) == 0) {
        out.write(metadata(1 + r.nextInt(3), r.nextInt(3)));
      }
      int marker = out.size();
      ByteBuffer m = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(lba).putInt(n);
      out.write(m.array());
      out.write(z, 0, n);
      out.write(new byte[(SECTOR - (12 + n) % SECTOR) % SECTOR]);
      grains.add(new Grain(lba, marker, marker + 12, n, kind == 0));
    }
    out.write(metadata(3, 1)); // footer
    out.write(new byte[SECTOR]); // end of stream
    return new Disk(capacity, grainBytes, content, grains, out.toByteArray());
  }

  private static byte[] header(long capacitySectors, long grainSectors) {
    ByteBuffer h = ByteBuffer.allocate(SECTOR).order(ByteOrder.LITTLE_ENDIAN);
    h.putInt(0, StreamOptimizedReader.MAGIC).putInt(4, 3)
        .putInt(8, StreamOptimizedReader.FLAG_COMPRESSED | StreamOptimizedReader.FLAG_MARKERS | 1)
        .putLong(12, capacitySectors).putLong(20, grainSectors).putInt(44, 512).putLong(64, 1).putShort(77, (short) 1);
    return h.array();
  }

  /** A metadata marker of {@code type} followed by {@code sectors} sectors of content. */
  private static byte[] metadata(int type, int sectors) {
    ByteBuffer b = ByteBuffer.allocate(SECTOR * (1 + sectors)).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(0, sectors).putInt(8, 0).putInt(12, type);
    return b.array();
  }

  /** A device that counts writes and remembers the ranges they covered. */
  private static final class RecordingDevice implements BlockDevice {
    final MemoryBlockDevice device;
    final List<long[]> ranges = Collections.synchronizedList(new ArrayList<>());
    volatile int writes;

    RecordingDevice(MemoryBlockDevice device) {
      this.device = device;
    }

    boolean touches(long from, long to) {
      synchronized (ranges) {
        return ranges.stream().anyMatch(w -> w[0] < to && from < w[1]);
      }
    }

    @Override
    public long size() {
      return device.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
      device.read(offset, dst);
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws IOException {
      ranges.add(new long[] {offset, offset + src.remaining()});
      writes++;
      device.write(offset, src);
    }

    @Override
    public void flush() {
      device.flush();
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
      device.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      device.discard(offset, length);
    }

    @Override
    public List<Extent> allocation(long offset, long length) {
      return device.allocation(offset, length);
    }

    @Override
    public boolean isReadOnly() {
      return false;
    }

    @Override
    public void close() {
      device.close();
    }

    @Override
    public String toString() {
      return "recording " + device;
    }
  }
}
