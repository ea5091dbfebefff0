package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.BlockDeviceContract;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/**
 * The BlockDevice contract for qcow2 in its variants: versions, cluster sizes, refcount widths,
 * extended L2 entries, backing files.
 */
class Qcow2ContractTest {
  @TempDir static Path dir;
  private static final AtomicInteger N = new AtomicInteger();

  abstract static class Variant extends BlockDeviceContract {
    abstract Map<String, String> options();

    boolean withBacking() {
      return false;
    }

    @Override
    protected BlockDevice create(long size) throws IOException {
      Path p = dir.resolve("c" + N.incrementAndGet() + ".qcow2");
      CreateOptions o = new CreateOptions(options(), null, null);
      if (withBacking()) {
        Path base = dir.resolve("base" + N.incrementAndGet() + ".qcow2");
        // An empty base: the contract needs a fresh device to read zeros; masking of a base's data
        // is tested against qemu in Qcow2QemuInteropTest.
        ImageFormats.create(base, "qcow2", size, o).close();
        return ImageFormats.create(p, "qcow2", size,
            new CreateOptions(options(), base.getFileName().toString(), "qcow2"));
      }
      return ImageFormats.create(p, "qcow2", size, o);
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) throws IOException {
      Path p = ((DiskImage) device).path();
      device.close();
      return ImageFormats.open(p, false);
    }
  }

  @Nested class V3Cluster64K extends Variant {
    @Override Map<String, String> options() {
      return Map.of();
    }
  }

  @Nested class V2Cluster64K extends Variant {
    @Override Map<String, String> options() {
      return Map.of("compat", "0.10");
    }
  }

  @Nested class V3Cluster512 extends Variant {
    @Override Map<String, String> options() {
      return Map.of("cluster_size", "512");
    }

    @Override protected int allocationGranularity() {
      return 512;
    }
  }

  @Nested class V3Cluster2M extends Variant {
    @Override Map<String, String> options() {
      return Map.of("cluster_size", "2M");
    }

    @Override protected int allocationGranularity() {
      return 2 << 20;
    }

    @Override protected long deviceSize() {
      return 16L << 20;
    }
  }

  @Nested class V3Refcount1Bit extends Variant {
    @Override Map<String, String> options() {
      return Map.of("refcount_bits", "1", "cluster_size", "4096");
    }
  }

  @Nested class V3Refcount64Bit extends Variant {
    @Override Map<String, String> options() {
      return Map.of("refcount_bits", "64");
    }
  }

  @Nested class V3OverBacking extends Variant {
    @Override Map<String, String> options() {
      return Map.of();
    }

    @Override boolean withBacking() {
      return true;
    }
  }

  @Nested class V2OverBacking extends Variant {
    @Override Map<String, String> options() {
      return Map.of("compat", "0.10", "cluster_size", "4096");
    }

    @Override boolean withBacking() {
      return true;
    }
  }

  @Nested class ExtendedL2Cluster64K extends Variant {
    @Override Map<String, String> options() {
      return Map.of("extended_l2", "on");
    }

    @Override protected int allocationGranularity() {
      return 2048; // subclusters of 64K / 32
    }
  }

  @Nested class ExtendedL2Cluster16KOverBacking extends Variant {
    @Override Map<String, String> options() {
      return Map.of("extended_l2", "on", "cluster_size", "16K");
    }

    @Override protected int allocationGranularity() {
      return 512;
    }

    @Override boolean withBacking() {
      return true;
    }
  }
}
