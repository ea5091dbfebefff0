package io.vstore.vdisk.vmdk;

import static io.vstore.vdisk.vmdk.VmdkTesting.FORMAT;
import static io.vstore.vdisk.vmdk.VmdkTesting.chain;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DeviceBytes;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.QemuTool;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded random writes, zeroing, discards, flushes and reopenings of a delta disk over a parent
 * with data, against a simple in-memory model; the final image must also read the same in qemu.
 */
@Tag("slow")
class VmdkDeltaModelTest {
  private static final long SIZE = (6L << 20) + 512;
  private static final int STEPS = "true".equals(System.getenv("CI")) ? 150 : 600;

  @TempDir Path dir;

  @ParameterizedTest
  @CsvSource({"1, off, monolithicSparse", "2, on, monolithicSparse", "3, off, twoGbMaxExtentSparse", "4, on, twoGbMaxExtentSparse"})
  void deltaDiskMatchesTheModel(long seed, String zeroedGrain, String subformat) throws Exception {
    Random r = new Random(seed);
    MemoryBlockDevice model = new MemoryBlockDevice("model", SIZE);
    Path base = dir.resolve("base.vmdk");
    try (DiskImage b = FORMAT.create(base, SIZE, new CreateOptions(Map.of(), null, null), chain())) {
      for (int i = 0; i < 20; i++) {
        byte[] data = bytes(r, 1 + r.nextInt(200_000));
        long off = r.nextLong(SIZE - data.length);
        b.write(off, ByteBuffer.wrap(data));
        model.write(off, ByteBuffer.wrap(data));
      }
    }
    Path child = dir.resolve("child.vmdk");
    DiskImage d = FORMAT.create(child, SIZE, new CreateOptions(Map.of("subformat", subformat, "zeroed_grain", zeroedGrain),
        "base.vmdk", "vmdk"), chain());
    try {
      for (int step = 0; step < STEPS; step++) {
        String where = "seed " + seed + " step " + step;
        int op = r.nextInt(10);
        int n = 1 + r.nextInt(r.nextBoolean() ? 4096 : 300_000);
        long off = r.nextLong(SIZE - n);
        if (r.nextInt(4) == 0) {
          off = off / 65536 * 65536; // grain-aligned, often whole grains
          n = (int) Math.min(SIZE - off, 65536L * (1 + r.nextInt(4)));
        }
        switch (op) {
          case 0, 1, 2, 3, 4 -> {
            byte[] data = bytes(r, n);
            d.write(off, ByteBuffer.wrap(data));
            model.write(off, ByteBuffer.wrap(data));
          }
          case 5 -> {
            d.writeZeroes(off, n, r.nextBoolean());
            model.writeZeroes(off, n, false);
          }
          case 6 -> {
            d.discard(off, n);
            model.discard(off, n);
          }
          case 7 -> d.flush();
          case 8 -> {
            d.close();
            d = FORMAT.open(child, false, chain());
          }
          default -> {
            ByteBuffer got = ByteBuffer.allocate(n);
            d.read(off, got);
            ByteBuffer want = ByteBuffer.allocate(n);
            model.read(off, want);
            DeviceBytes.assertSameBytes(got.array(), want.array(), where + " read " + off + "+" + n);
          }
        }
      }
      DeviceBytes.assertSameBytes(DeviceBytes.readAll(d), DeviceBytes.readAll(model), "seed " + seed + " final");
      for (Extent e : d.allocation(0, SIZE)) {
        if (e.kind().readsAsZeros()) {
          ByteBuffer z = ByteBuffer.allocate((int) e.length());
          d.read(e.offset(), z);
          assertThat(z.array()).as("seed %d: %s reads zeros", seed, e).containsOnly(0);
        }
      }
    } finally {
      d.close();
    }
    Path raw = dir.resolve("model.raw");
    Files.write(raw, DeviceBytes.readAll(model));
    assertThat(QemuTool.ok("qemu-img", "check", "-f", "vmdk", child.toString())).contains("No errors");
    QemuTool.ok("qemu-img", "compare", "-f", "vmdk", "-F", "raw", child.toString(), raw.toString());
    assertThat(FORMAT.check(child).corruptions()).isEmpty();
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    if (r.nextInt(4) == 0) {
      return b; // explicit zeros are data too
    }
    r.nextBytes(b);
    return b;
  }
}
