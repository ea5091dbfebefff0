package io.vstore.vdisk.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Model-based: seeded random writes, zeroes, discards, flushes and reopens against qcow2 and the
 * in-memory reference device, over versions, cluster sizes and a backing file; the image must
 * read like the model after every step and pass qemu-img check at the end. Each seed draws its
 * cluster size, version and backing file too; a failure names the seed and the step (see
 * {@link ModelRun} to replay one).
 */
class Qcow2ModelTest {
  private static final long SIZE = 6L << 20;

  private static final int[] CLUSTER_SIZES = {512, 4096, 65536, 2 << 20};

  static LongStream seeds() {
    return ModelRun.seeds(12);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void randomOperationsMatchTheModel(long seed) {
    ModelRun.run(seed, Qcow2ModelTest::oneRun);
  }

  private static void oneRun(ModelRun run) throws Exception {
    Random r = run.random();
    int clusterSize = CLUSTER_SIZES[r.nextInt(CLUSTER_SIZES.length)];
    boolean v2 = r.nextBoolean();
    boolean withBacking = r.nextBoolean();
    run.context("cluster " + clusterSize + ", " + (v2 ? "v2" : "v3") + (withBacking ? ", backing file" : ""));
    Path dir = Files.createTempDirectory("qcow2-model");
    try {
      MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
      Map<String, String> opts = Map.of("cluster_size", Integer.toString(clusterSize), "compat", v2 ? "0.10" : "1.1");
      String backing = null;
      if (withBacking) {
        backing = "base.qcow2";
        try (DiskImage b = ImageFormats.create(dir.resolve(backing), "qcow2", SIZE, new CreateOptions(opts, null, null))) {
          byte[] data = new byte[(int) SIZE];
          r.nextBytes(data);
          Arrays.fill(data, 1 << 20, 2 << 20, (byte) 0); // a zero stretch in the base as well
          b.write(0, ByteBuffer.wrap(data));
          model.write(0, ByteBuffer.wrap(data));
        }
      }
      Path img = dir.resolve("top.qcow2");
      DiskImage d = ImageFormats.create(img, "qcow2", SIZE, new CreateOptions(opts, backing, withBacking ? "qcow2" : null));
      try {
        for (int step = 0; step < 120; step++) {
          int op = r.nextInt(12);
          int n = 1 + r.nextInt((int) Math.min(SIZE / 2, op < 8 ? 3L * clusterSize : 6L * clusterSize));
          long off = r.nextLong(SIZE - n);
          String name = op < 7 ? "write" : op == 7 ? "write zeroes" : op == 8 ? "write zeroes (may unmap)"
              : op < 10 ? "discard" : op < 11 ? "flush, read" : "reopen, read";
          run.step(step, name + " " + n + " at " + off);
          if (op < 7) {
            byte[] data = new byte[n];
            r.nextBytes(data);
            d.write(off, ByteBuffer.wrap(data));
            model.write(off, ByteBuffer.wrap(data));
          } else if (op < 9) {
            d.writeZeroes(off, n, op == 8);
            model.writeZeroes(off, n, false);
          } else if (op < 10) {
            d.discard(off, n);
            model.discard(off, n);
          } else if (op < 11) {
            d.flush();
          } else {
            d.close();
            d = ImageFormats.open(img, false);
          }
          ByteBuffer got = ByteBuffer.allocate(n);
          d.read(off, got);
          ByteBuffer want = ByteBuffer.allocate(n);
          model.read(off, want);
          assertThat(Arrays.mismatch(got.array(), want.array())).as("read back %d at %d", n, off).isEqualTo(-1);
        }
        run.finish("final checks");
        ByteBuffer all = ByteBuffer.allocate((int) SIZE);
        d.read(0, all);
        ByteBuffer want = ByteBuffer.allocate((int) SIZE);
        model.read(0, want);
        assertThat(Arrays.mismatch(all.array(), want.array())).as("whole image").isEqualTo(-1);
        for (Extent e : d.allocation(0, SIZE)) {
          if (e.kind().readsAsZeros()) {
            for (long p = e.offset(); p < e.end(); p++) {
              assertThat(all.get((int) p)).as("%s reads zeros", e).isZero();
            }
          }
        }
      } finally {
        d.close();
      }
      QemuTool.assertCheckClean(img, "qcow2");
    } finally {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> {
          try {
            Files.delete(p);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
      }
    }
  }
}
