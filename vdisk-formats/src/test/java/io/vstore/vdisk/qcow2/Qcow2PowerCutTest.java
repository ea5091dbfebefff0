package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.testing.PowerCutChannels;
import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts through the {@link io.vstore.blockstore.store.ChannelOpener} of {@link Qcow2Format}:
 * writes, zeroes and discards, then the power goes off between operations or in the middle of a
 * flush (a failing sync), and every sector written since the last sync keeps its old content or
 * one of its new ones. The package documentation promises what must hold afterwards: qemu-img
 * check finds leaks at most, never corruption; data flushed before survives; every other byte
 * reads its flushed value or one written since; and the image can be written again.
 */
class Qcow2PowerCutTest {
  private static final ImageChainOpener NO_BACKING = (path, format) -> {
    throw new IOException("no backing file expected: " + path);
  };
  private static final long SIZE = 16L << 20;

  @TempDir Path dir;

  /** A write since the last completed flush: where, and what (zeros for zero writes and discards). */
  private record Op(long offset, byte[] data) {}

  private static byte[] readAll(Path img) throws IOException {
    try (DiskImage d = ImageFormats.open(img, true)) {
      ByteBuffer b = ByteBuffer.allocate((int) d.size());
      d.read(0, b);
      return b.array();
    }
  }

  @Test
  void cutsLeaveLeaksAtMostAndFlushedDataIntact() throws Exception {
    int rounds = "true".equals(System.getenv("CI")) ? 8 : 24;
    List<Map<String, String>> variants = List.of(Map.of("cluster_size", "512"), Map.of("cluster_size", "4096"),
        Map.of(), Map.of("extended_l2", "on"), Map.of("compat", "0.10", "cluster_size", "4096"),
        Map.of("extended_l2", "on", "cluster_size", "16K"));
    Random r = new Random(7);
    int cutsMidFlush = 0;
    for (int round = 0; round < rounds; round++) {
      Map<String, String> options = variants.get(round % variants.size());
      String what = "round " + round + " " + options;
      Path img = dir.resolve("cut" + round + ".qcow2");
      try (DiskImage d = ImageFormats.create(img, "qcow2", SIZE, new CreateOptions(options, null, null))) {
        byte[] base = new byte[6 << 20];
        r.nextBytes(base);
        d.write(1 << 20, ByteBuffer.wrap(base));
      }
      byte[] durable = readAll(img);
      PowerCutChannels power = PowerCutChannels.inPlace(r.nextLong());
      if (r.nextBoolean()) {
        power.failForceAfter(1 + r.nextInt(40));
      }
      List<Op> since = new ArrayList<>();
      DiskImage d = new Qcow2Format(power::open).open(img, false, NO_BACKING);
      int ops = 10 + r.nextInt(80);
      try {
        for (int i = 0; i < ops; i++) {
          int n = 1 + r.nextInt(r.nextInt(4) == 0 ? 400_000 : 9000);
          long off = r.nextLong(SIZE - n);
          int kind = r.nextInt(10);
          if (kind < 6) {
            byte[] data = new byte[n];
            r.nextBytes(data);
            since.add(new Op(off, data));
            d.write(off, ByteBuffer.wrap(data));
          } else if (kind < 8) {
            since.add(new Op(off, new byte[n]));
            if (kind == 6) {
              d.writeZeroes(off, n, r.nextBoolean());
            } else {
              d.discard(off, n);
            }
          } else {
            d.flush();
            for (Op op : since) {
              System.arraycopy(op.data(), 0, durable, (int) op.offset(), op.data().length);
            }
            since.clear();
          }
        }
      } catch (IOException injected) {
        assertThat(injected).as(what).hasMessageContaining("injected failure");
        cutsMidFlush++;
      }
      power.cut();
      try {
        d.close();
      } catch (IOException expected) {
        // the power is off: the final flush cannot happen
      }

      QemuTool.Run q = QemuTool.run("qemu-img", "check", img.toString());
      assertThat(q.exitCode()).as("%s: %s%s", what, q.stdout(), q.stderr()).isIn(0, 3);
      CheckResult own = new Qcow2Format().check(img);
      assertThat(own.corruptions()).as(what).isEmpty();
      byte[] actual = readAll(img);
      for (int b = 0; b < actual.length; b++) {
        if (actual[b] != durable[b] && !writtenSince(since, b, actual[b])) {
          throw new AssertionError(what + ": byte " + b + " reads " + actual[b] + ", flushed " + durable[b]
              + ", and no write since the flush put that value there");
        }
      }
      try (DiskImage again = ImageFormats.open(img, false)) {
        again.write(12345, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      }
      assertThat(QemuTool.run("qemu-img", "check", img.toString()).exitCode()).as(what).isIn(0, 3);
    }
    assertThat(cutsMidFlush).as("rounds cut in the middle of a flush").isPositive();
  }

  private static boolean writtenSince(List<Op> since, int b, byte value) {
    for (Op op : since) {
      if (b >= op.offset() && b < op.offset() + op.data().length && op.data()[(int) (b - op.offset())] == value) {
        return true;
      }
    }
    return false;
  }
}
