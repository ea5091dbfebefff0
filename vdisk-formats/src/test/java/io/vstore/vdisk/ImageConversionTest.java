package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageConversionTest {
  @TempDir Path dir;

  /** 1 MiB regions: hole, written zeros, random, random. */
  private Path source() throws Exception {
    Path raw = dir.resolve("src.raw");
    try (DiskImage d = ImageFormats.create(raw, "raw", 16L << 20, CreateOptions.none())) {
      Random r = new Random(1);
      for (int i = 0; i < 16; i++) {
        if (i % 4 == 1) {
          d.write((long) i << 20, ByteBuffer.allocate(1 << 20));
        } else if (i % 4 >= 2) {
          byte[] b = new byte[1 << 20];
          r.nextBytes(b);
          d.write((long) i << 20, ByteBuffer.wrap(b));
        }
      }
    }
    return raw;
  }

  @Test
  void holesAndZeroRunsAreNeverWritten() throws Exception {
    Path src = source();
    Path out = dir.resolve("out.qcow2");
    ImageConversion.Result r = ImageConversion.convert(src, null, out, "qcow2", CreateOptions.none());
    assertThat(r.bytesWritten()).isEqualTo(8L << 20);
    try (DiskImage s = ImageFormats.open(src, true); DiskImage o = ImageFormats.open(out, true)) {
      assertThat(ImageComparison.compare(s, o).identical()).isTrue();
      List<Extent> map = o.allocation(0, o.size());
      for (Extent e : map) {
        boolean dataRegion = (e.offset() >> 20) % 4 >= 2;
        assertThat(e.kind() == Extent.Kind.DATA).as("%s", e).isEqualTo(dataRegion);
      }
      assertThat(ImageMap.of(o)).hasSize(map.size());
    }
    QemuTool.assertCheckClean(out, "qcow2");
    QemuTool.ok("qemu-img", "compare", "-f", "raw", "-F", "qcow2", src.toString(), out.toString());
  }

  @Test
  void qcow2ToRawKeepsHoles() throws Exception {
    Path src = source();
    Path q = dir.resolve("mid.qcow2");
    ImageConversion.convert(src, "raw", q, "qcow2", CreateOptions.none());
    Path back = dir.resolve("back.raw");
    ImageConversion.convert(q, null, back, "raw", CreateOptions.none());
    assertThat(Files.readAllBytes(back)).isEqualTo(Files.readAllBytes(src));
    try (DiskImage b = ImageFormats.open(back, true)) {
      long data = b.allocation(0, b.size()).stream().filter(e -> e.kind() == Extent.Kind.DATA)
          .mapToLong(Extent::length).sum();
      assertThat(data).isEqualTo(8L << 20);
    }
  }

  @Test
  void compareFindsTheFirstDifferenceAndTreatsTailsAsZeros() throws Exception {
    Path a = dir.resolve("a.qcow2");
    Path b = dir.resolve("b.raw");
    try (DiskImage da = ImageFormats.create(a, "qcow2", 4 << 20, CreateOptions.none());
        DiskImage db = ImageFormats.create(b, "raw", 6 << 20, CreateOptions.none())) {
      da.write(1000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      db.write(1000, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      assertThat(ImageComparison.compare(da, db).identical()).isTrue();
      db.write(5 << 20, ByteBuffer.wrap(new byte[] {9}));
      assertThat(ImageComparison.compare(da, db).firstDifference()).isEqualTo(5 << 20);
      da.write(3000, ByteBuffer.wrap(new byte[] {7}));
      ImageComparison.Result r = ImageComparison.compare(da, db);
      assertThat(r.firstDifference()).isEqualTo(3000);
      assertThat(r.message()).isEqualTo("Content mismatch at offset 3000!");
    }
  }

  @Test
  void blockAlignerMakesSectorStoresByteGranular() throws Exception {
    byte[] store = new byte[8192];
    BlockAligner a = new BlockAligner(512, store.length, new BlockAligner.Blocks() {
      @Override public void readBlocks(long offset, ByteBuffer dst) {
        assertThat(offset % 512).isZero();
        dst.put(store, (int) offset, dst.remaining());
      }

      @Override public void writeBlocks(long offset, ByteBuffer src) {
        assertThat(offset % 512).isZero();
        assertThat(src.remaining() % 512).isZero();
        src.get(store, (int) offset, src.remaining());
      }
    });
    byte[] model = new byte[8192];
    Random r = new Random(5);
    for (int i = 0; i < 500; i++) {
      int n = 1 + r.nextInt(1500);
      int off = r.nextInt(8192 - n);
      byte[] data = new byte[n];
      r.nextBytes(data);
      a.write(off, ByteBuffer.wrap(data));
      System.arraycopy(data, 0, model, off, n);
      int rn = 1 + r.nextInt(2000);
      int roff = r.nextInt(8192 - rn);
      ByteBuffer got = ByteBuffer.allocate(rn);
      a.read(roff, got);
      assertThat(got.array()).isEqualTo(java.util.Arrays.copyOfRange(model, roff, roff + rn));
    }
    assertThat(store).isEqualTo(model);
  }

  @Test
  void sequentialTargetsGetAscendingWritesFromOneThread() throws Exception {
    Path src = source();
    Path out = dir.resolve("seq.raw");
    List<Long> offsets = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.Set<Thread> threads = java.util.concurrent.ConcurrentHashMap.newKeySet();
    try (DiskImage s = ImageFormats.open(src, true);
        DiskImage raw = ImageFormats.create(out, "raw", s.size(), CreateOptions.none())) {
      DiskImage sequential = (DiskImage) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
          new Class<?>[] {DiskImage.class}, (proxy, method, args) -> {
            if (method.getName().equals("sequentialWritesOnly")) {
              return true;
            }
            if (method.getName().equals("write")) {
              offsets.add((Long) args[0]);
              threads.add(Thread.currentThread());
            }
            try {
              return method.invoke(raw, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
              throw e.getCause();
            }
          });
      ImageConversion.copy(s, sequential, 4);
      assertThat(ImageComparison.compare(s, raw).identical()).isTrue();
    }
    assertThat(offsets).isSorted().doesNotHaveDuplicates().isNotEmpty();
    assertThat(threads).hasSize(1);
  }
}
