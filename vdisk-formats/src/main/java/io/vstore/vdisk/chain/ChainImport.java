package io.vstore.vdisk.chain;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Imports an image with a backing chain as a volume whose history is the chain: the base level is
 * copied, snapshotted, and every level above it adds only the blocks in which it differs from the
 * level below, then is snapshotted too; the top level is the volume's head.
 */
public final class ChainImport {
  private static final int CHUNK = 1 << 20;
  private static final int BLOCK = 4096;

  private ChainImport() {}

  /**
   * Creates volume {@code name} in {@code ds} holding {@code top} (its size rounded up to 512
   * bytes) with the chain below it as snapshots, flushes it and returns the snapshots made, oldest
   * first (none when {@code top} has no backing file). On failure the volume is deleted again.
   * Progress counts the bytes of every level scanned, out of {@code levels * top.size()}.
   */
  public static List<String> run(Datastore ds, String name, DiskImage top, ChainProgress progress)
      throws IOException {
    long size = (top.size() + 511) / 512 * 512;
    Volume created = ds.createVolume(name, size);
    boolean success = false;
    try (Volume v = created) {
      List<String> snapshots = copy(ds, v, top, progress);
      v.flush();
      success = true;
      return snapshots;
    } finally {
      if (!success) {
        ds.deleteVolume(name, true); // the half-imported volume and the snapshots made so far
      }
    }
  }

  /**
   * Copies {@code top} (with its chain) into the new, empty volume {@code v} of {@code ds} and
   * returns the snapshots made, oldest first; the caller flushes and closes {@code v}.
   */
  private static List<String> copy(Datastore ds, Volume v, DiskImage top, ChainProgress progress) throws IOException {
    List<DiskImage> levels = new ArrayList<>(ImageFormats.chain(top));
    Collections.reverse(levels); // base first
    long levelSize = top.size();
    long total = Math.max(1, levels.size() * levelSize);
    int threads = Runtime.getRuntime().availableProcessors();
    ImageConversion.copy(levels.getFirst(), v, threads, BLOCK, false, done -> progress.progressed(done, total));
    List<String> snapshots = new ArrayList<>();
    Set<String> used = new HashSet<>();
    for (int i = 1; i < levels.size(); i++) {
      String snap = snapshotName(levels.get(i - 1).path(), i - 1, used);
      ds.createSnapshot(v.name(), snap);
      snapshots.add(snap);
      long before = i * levelSize;
      copyDifferences(levels.get(i - 1), levels.get(i), v, done -> progress.progressed(before + done, total));
    }
    progress.progressed(total, total);
    return snapshots;
  }

  /** Writes into {@code v} every block where {@code upper} reads differently from {@code lower}. */
  private static void copyDifferences(BlockDevice lower, BlockDevice upper, Volume v,
      java.util.function.LongConsumer progress) throws IOException {
    ByteBuffer a = ByteBuffer.allocateDirect(CHUNK);
    ByteBuffer b = ByteBuffer.allocateDirect(CHUNK);
    long size = Math.min(upper.size(), v.size());
    for (long pos = 0; pos < size; pos += CHUNK) {
      int len = (int) Math.min(CHUNK, size - pos);
      progress.accept(pos);
      if (readsZeros(lower, pos, len) && readsZeros(upper, pos, len)) {
        continue;
      }
      a.clear().limit(len);
      b.clear().limit(len);
      lower.read(pos, a);
      upper.read(pos, b);
      int runStart = -1;
      for (int off = 0; ; off += BLOCK) {
        boolean atEnd = off >= len;
        int n = atEnd ? 0 : Math.min(BLOCK, len - off);
        boolean differs = !atEnd && a.slice(off, n).mismatch(b.slice(off, n)) >= 0;
        if (differs && runStart < 0) {
          runStart = off;
        } else if (!differs && runStart >= 0) {
          int runEnd = Math.min(off, len);
          v.write(pos + runStart, b.slice(runStart, runEnd - runStart));
          runStart = -1;
        }
        if (atEnd) {
          break;
        }
      }
    }
    progress.accept(size);
  }

  private static boolean readsZeros(BlockDevice d, long pos, int len) throws IOException {
    for (Extent e : d.allocation(pos, len)) {
      if (!e.kind().readsAsZeros()) {
        return false;
      }
    }
    return true;
  }

  /** Names the snapshot of a level after its file, made valid and unique. */
  static String snapshotName(Path file, int level, Set<String> used) {
    String name = file.getFileName().toString().replaceAll("[^A-Za-z0-9._-]", "_");
    if (name.isEmpty() || !Character.isLetterOrDigit(name.charAt(0)) || name.length() > 128 || !used.add(name)) {
      name = "level-" + level;
      used.add(name);
    }
    return name;
  }
}
