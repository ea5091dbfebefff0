package io.vstore.bench;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Inventory;
import io.vstore.engine.PoolReport;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * End-to-end linked-clone benchmarks against qemu-img qcow2 backing files, in one run on the same
 * file system.
 *
 * <ul>
 *   <li>{@code clones N}: N linked clones of one snapshot with one {@code cloneSnapshot} call,
 *       against N {@code qemu-img create -b} overlays of one base.
 *   <li>{@code space DESKTOPS BASE_MIB WRITE_MIB}: a pool of desktops from a base VM holding
 *       BASE_MIB of incompressible data, each desktop then writing WRITE_MIB of incompressible
 *       data; the datastore's allocation against qcow2 overlays of a qcow2 base given the same
 *       writes (qcow2 does not compress, so qemu-io's pattern writes allocate the same).
 *   <li>{@code pool DESKTOPS BLOCKS} (defaults 1000 and 10000): a pool of desktops whose system
 *       disks each write BLOCKS random 4 KiB blocks of random data; the heap after a full GC
 *       before and after the writes, then the time of refreshing every desktop (issue 13's floor:
 *       at most 5 s), then a clean datastore check.
 * </ul>
 *
 * <p>Usage: {@code LinkedCloneBench WORKDIR clones 1000}, {@code LinkedCloneBench WORKDIR space 100 2048 10}
 * or {@code LinkedCloneBench WORKDIR pool 1000 10000}.
 */
public final class LinkedCloneBench {
  private static final long GIB = 1L << 30;
  private static final int CHUNK = 4 << 20;

  private LinkedCloneBench() {}

  /** Runs the benchmark named by the arguments. */
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: LinkedCloneBench WORKDIR clones N | WORKDIR space DESKTOPS BASE_MIB WRITE_MIB"
          + " | WORKDIR pool [DESKTOPS [BLOCKS]]");
      System.exit(2);
    }
    Path work = Path.of(args[0]);
    switch (args[1]) {
      case "clones" -> clones(work, args.length > 2 ? Integer.parseInt(args[2]) : 1000);
      case "space" -> space(work, Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
      case "pool" -> PoolRefreshBench.run(work.resolve("pool-ds"), args.length > 2 ? Integer.parseInt(args[2]) : 1000,
          args.length > 3 ? Integer.parseInt(args[3]) : 10_000);
      default -> throw new IllegalArgumentException("unknown benchmark " + args[1]);
    }
  }

  /** Returns the datastore options of every mode: no background cleaner, which would only add noise. */
  static DatastoreOptions options() {
    return DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO);
  }

  private static void clones(Path work, int n) throws Exception {
    Path dir = fresh(work.resolve("clones-ds"));
    double vstoreSeconds;
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      try (Volume v = ds.createVolume("base", 10 * GIB)) {
        fill(v, null, 256L << 20, new SplittableRandom(1));
      }
      ds.createSnapshot("base", "gold");
      List<String> names = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        names.add("clone-" + i);
      }
      long t0 = System.nanoTime();
      List<Volume> made = ds.cloneSnapshot("base", "gold", names);
      vstoreSeconds = (System.nanoTime() - t0) / 1e9;
      for (Volume v : made) {
        v.close();
      }
      if (ds.volumes().size() != n + 1 || !ds.check().clean()) {
        throw new IllegalStateException("clone benchmark left a datastore that does not check clean");
      }
    }
    Path q = Files.createDirectories(fresh(work.resolve("clones-qcow2")));
    run(List.of("qemu-img", "create", "-q", "-f", "qcow2", q.resolve("base.qcow2").toString(), "10G"));
    long t0 = System.nanoTime();
    for (int i = 1; i <= n; i++) {
      run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2",
          q.resolve("clone-" + i + ".qcow2").toString()));
    }
    double qemuSeconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "%d linked clones of one snapshot (10 GiB volume, 256 MiB of data):%n", n);
    System.out.printf(Locale.ROOT, "  vstore Datastore.cloneSnapshot (one call): %8.3f s  (%.3f ms per clone)%n",
        vstoreSeconds, vstoreSeconds * 1000 / n);
    System.out.printf(Locale.ROOT, "  qemu-img create -b (one process each):     %8.3f s  (%.3f ms per clone)%n",
        qemuSeconds, qemuSeconds * 1000 / n);
    System.out.printf(Locale.ROOT, "  ratio (qemu-img time / vstore time): %.1fx; floor: vstore under 2 s: %s%n",
        qemuSeconds / vstoreSeconds, vstoreSeconds < 2 ? "met" : "NOT met");
    deleteTree(dir);
    deleteTree(q);
  }

  private static void space(Path work, int desktops, int baseMib, int writeMib) throws Exception {
    Path dir = fresh(work.resolve("space-ds"));
    Path q = Files.createDirectories(fresh(work.resolve("space-qcow2")));
    Path raw = q.resolve("base.raw");
    long baseBytes = (long) baseMib << 20;
    long writeBytes = (long) writeMib << 20;
    long diskSize = baseBytes;
    PoolReport report;
    long datastoreAllocated;
    long datastoreUsed;
    double seconds;
    try (Datastore ds = Datastore.create(dir, options(), 0)) {
      Inventory inv = Inventory.open(ds);
      inv.vms().create("gold", List.of(diskSize), null);
      try (Volume v = ds.volume("gold-disk0"); OutputStream rawOut = Files.newOutputStream(raw)) {
        fill(v, rawOut, baseBytes, new SplittableRandom(2));
      }
      inv.vms().snapshot("gold", "v1", "benchmark base");
      long t0 = System.nanoTime();
      inv.pools().create("pool", "gold", "v1", desktops, 0, 0);
      seconds = (System.nanoTime() - t0) / 1e9;
      for (int i = 1; i <= desktops; i++) {
        try (Volume v = ds.volume("pool-" + i + "-disk0")) {
          // Each desktop writes at its own offset, over data it shares with the base.
          long at = ((long) i * writeBytes) % (baseBytes - writeBytes + 1) / 4096 * 4096;
          fillAt(v, at, writeBytes, new SplittableRandom(100 + i));
        }
      }
      ds.flush();
      report = inv.pools().report("pool");
      datastoreAllocated = ds.info().allocated();
      datastoreUsed = ds.info().used();
      if (!ds.check().clean()) {
        throw new IllegalStateException("space benchmark left a datastore that does not check clean");
      }
    }
    Path base = q.resolve("base.qcow2");
    run(List.of("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), base.toString()));
    Files.delete(raw);
    long qcow2Bytes = allocatedBytes(base);
    for (int i = 1; i <= desktops; i++) {
      Path o = q.resolve("desktop-" + i + ".qcow2");
      run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", o.toString()));
      long at = ((long) i * writeBytes) % (baseBytes - writeBytes + 1) / 4096 * 4096;
      run(List.of("qemu-io", "-f", "qcow2", "-c", "write -P " + (i % 255 + 1) + " " + at + " " + writeBytes,
          o.toString()));
      qcow2Bytes += allocatedBytes(o);
    }
    System.out.printf(Locale.ROOT, "pool of %d desktops from a %d MiB base, each writing %d MiB (incompressible):%n",
        desktops, baseMib, writeMib);
    System.out.printf(Locale.ROOT, "  vstore pool create: %.3f s%n", seconds);
    System.out.printf(Locale.ROOT, "  vstore provisioned %.3f GiB (desktops' virtual sizes), pool report allocated "
        + "%.3f GiB (pool %.3f + base %.3f), savings ratio %.1fx%n", report.provisioned() / (double) GIB,
        report.allocated() / (double) GIB, report.poolAllocated() / (double) GIB, report.baseAllocated() / (double) GIB,
        report.ratio());
    System.out.printf(Locale.ROOT, "  vstore datastore allocated %.3f GiB (segment files %.3f GiB)%n",
        datastoreAllocated / (double) GIB, datastoreUsed / (double) GIB);
    System.out.printf(Locale.ROOT, "  qcow2 base + %d overlays allocated %.3f GiB%n", desktops,
        qcow2Bytes / (double) GIB);
    System.out.printf(Locale.ROOT, "  ratio (qcow2 allocated / vstore allocated): %.3f; floor: under 3.2 GiB: %s%n",
        qcow2Bytes / (double) datastoreAllocated, datastoreAllocated < 3.2 * GIB ? "met" : "NOT met");
    deleteTree(dir);
    deleteTree(q);
  }

  /** Writes {@code bytes} of random data from offset 0 of {@code v}, also to {@code copy} unless null, and flushes. */
  static void fill(Volume v, OutputStream copy, long bytes, SplittableRandom r) throws IOException {
    byte[] chunk = new byte[CHUNK];
    for (long off = 0; off < bytes; off += CHUNK) {
      int n = (int) Math.min(CHUNK, bytes - off);
      random(r, chunk);
      v.write(off, ByteBuffer.wrap(chunk, 0, n));
      if (copy != null) {
        copy.write(chunk, 0, n);
      }
    }
    v.flush();
  }

  private static void fillAt(Volume v, long at, long bytes, SplittableRandom r) throws IOException {
    byte[] chunk = new byte[(int) Math.min(CHUNK, bytes)];
    for (long off = 0; off < bytes; off += chunk.length) {
      int n = (int) Math.min(chunk.length, bytes - off);
      random(r, chunk);
      v.write(at + off, ByteBuffer.wrap(chunk, 0, n));
    }
    v.flush();
  }

  /** Fills {@code b} with random bytes (whole longs; a tail shorter than 8 bytes is left as it was). */
  static void random(SplittableRandom r, byte[] b) {
    ByteBuffer bb = ByteBuffer.wrap(b);
    while (bb.remaining() >= 8) {
      bb.putLong(r.nextLong());
    }
  }

  private static long allocatedBytes(Path file) throws Exception {
    Process p = new ProcessBuilder("du", "-B1", "--", file.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("du " + file + " failed: " + out);
    }
    return Long.parseLong(out.split("\\s+")[0]);
  }

  private static void run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out);
    }
  }

  /** Deletes {@code dir} if present and creates its parent, returning {@code dir}. */
  static Path fresh(Path dir) throws IOException {
    deleteTree(dir);
    Files.createDirectories(dir.getParent());
    return dir;
  }

  /** Deletes {@code dir} and everything under it, if present. */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
