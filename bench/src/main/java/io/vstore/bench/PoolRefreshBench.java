package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.DesktopPool;
import io.vstore.engine.Inventory;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Issue 13's pool floor: a pool of DESKTOPS linked clones whose system disks each write BLOCKS
 * random 4 KiB blocks of random data. Prints the heap after a full GC before and after the writes
 * (what the paged metadata bounds), then times {@code pools().refresh} of every desktop against
 * the 5 s floor, then checks the datastore. Run by {@code LinkedCloneBench WORKDIR pool D B}.
 */
final class PoolRefreshBench {
  private static final int BLOCK = 4096;
  private static final long MIB = 1L << 20;
  /** The base VM's disk: room for the desktops' random blocks to land mostly apart. */
  private static final long DISK = 16L << 30;
  /** The base's own data, shared by every desktop. */
  private static final long BASE_DATA = 64L << 20;
  private static final double FLOOR_SECONDS = 5;

  private PoolRefreshBench() {}

  /** Builds the pool in {@code dir} (deleted first and after), writes, refreshes and prints the figures. */
  static void run(Path dir, int desktops, int blocks) throws Exception {
    if (desktops < 1 || blocks < 1) {
      throw new IllegalArgumentException("pool benchmark needs at least one desktop and one block, not "
          + desktops + " desktops of " + blocks + " blocks");
    }
    LinkedCloneBench.fresh(dir);
    double writeSeconds;
    double refreshSeconds;
    long heapBefore;
    long heapAfter;
    long heapAfterRefresh;
    long allocated;
    try (Datastore ds = Datastore.create(dir, LinkedCloneBench.options(), 0)) {
      Inventory inv = Inventory.open(ds);
      inv.vms().create("gold", List.of(DISK), null);
      try (Volume v = ds.volume("gold-disk0")) {
        LinkedCloneBench.fill(v, null, BASE_DATA, new SplittableRandom(7));
      }
      inv.vms().snapshot("gold", "v1", "benchmark base");
      DesktopPool pool = inv.pools().create("pool", "gold", "v1", desktops, 0, 0);
      heapBefore = heapAfterGc();
      long t0 = System.nanoTime();
      writeDesktops(ds, pool, blocks);
      ds.flush();
      writeSeconds = (System.nanoTime() - t0) / 1e9;
      heapAfter = heapAfterGc();
      allocated = ds.info().allocated();

      t0 = System.nanoTime();
      inv.pools().refresh("pool", null);
      refreshSeconds = (System.nanoTime() - t0) / 1e9;
      heapAfterRefresh = heapAfterGc();
      if (!ds.check().clean()) {
        throw new IllegalStateException("pool benchmark: the datastore does not check clean after the refresh");
      }
      // Refreshed desktops own nothing: only the base's data remains allocated.
      long left = ds.info().allocated();
      if (left > BASE_DATA + BASE_DATA / 16) {
        throw new IllegalStateException("pool benchmark: after the refresh the datastore still allocates " + left
            + " bytes; the base holds " + BASE_DATA);
      }
    }
    long written = (long) desktops * blocks * BLOCK;
    System.out.printf(Locale.ROOT, "pool of %d desktops, each writing %d random 4 KiB blocks (%.2f GiB in all):%n",
        desktops, blocks, written / (double) (1L << 30));
    System.out.printf(Locale.ROOT, "  writes: %.1f s (%.0f blocks/s), datastore allocated %.2f GiB%n", writeSeconds,
        desktops * (double) blocks / writeSeconds, allocated / (double) (1L << 30));
    System.out.printf(Locale.ROOT, "  heap after full GC: %.1f MiB before the writes, %.1f MiB after (+%.1f MiB),"
        + " %.1f MiB after the refresh%n", heapBefore / (double) MIB, heapAfter / (double) MIB,
        (heapAfter - heapBefore) / (double) MIB, heapAfterRefresh / (double) MIB);
    System.out.printf(Locale.ROOT, "  pool refresh of all %d desktops: %.3f s; floor: at most %.0f s: %s%n", desktops,
        refreshSeconds, FLOOR_SECONDS, refreshSeconds <= FLOOR_SECONDS ? "met" : "NOT met");
    System.out.printf(Locale.ROOT, "  datastore check after the refresh: clean%n");
    LinkedCloneBench.deleteTree(dir);
  }

  /** Writes {@code blocks} random blocks of random data to every desktop's system disk, several desktops at a time. */
  private static void writeDesktops(Datastore ds, DesktopPool pool, int blocks) throws Exception {
    int threads = Math.max(2, Math.min(8, Runtime.getRuntime().availableProcessors()));
    AtomicInteger next = new AtomicInteger();
    List<String> disks = pool.desktops().stream().map(d -> d.systemDisks().getFirst()).toList();
    try (ExecutorService workers = Executors.newFixedThreadPool(threads)) {
      List<Future<?>> running = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        running.add(workers.submit(() -> {
          byte[] data = new byte[BLOCK];
          for (int i = next.getAndIncrement(); i < disks.size(); i = next.getAndIncrement()) {
            SplittableRandom r = new SplittableRandom(1000L + i);
            try (Volume v = ds.volume(disks.get(i))) {
              long diskBlocks = v.size() / BLOCK;
              for (int b = 0; b < blocks; b++) {
                LinkedCloneBench.random(r, data);
                v.write(r.nextLong(diskBlocks) * BLOCK, ByteBuffer.wrap(data));
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : running) {
        f.get();
      }
    }
  }

  /** Returns the heap in use after two full collections (a second one catches what the first finalized). */
  private static long heapAfterGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
