package io.vstore.vdisk.chain;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import io.vstore.blockstore.store.ChangedAreas;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFormats;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Exports a volume and its snapshots as a chain of delta images: the oldest snapshot as a full
 * image, every newer snapshot and finally the head as an image whose backing file is the one
 * before, holding only what changed-block tracking reports changed between the two.
 */
public final class ChainExport {
  private static final int CHUNK = 1 << 20;

  private ChainExport() {}

  /** Returns the file of level {@code snapshot} beside {@code top}: {@code top}'s name with {@code -snapshot}. */
  public static Path levelFile(Path top, String snapshot) {
    String name = top.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String ext = dot > 0 ? name.substring(dot) : "";
    return top.resolveSibling(stem + "-" + snapshot + ext);
  }

  /**
   * Writes volume {@code volume} of {@code ds} as a chain of {@code format} images ({@code options}
   * as qemu-img's {@code -o}) ending in {@code top}, each snapshot in its {@link #levelFile}, and
   * returns the files, base first, {@code top} last. Refuses to overwrite any of them; on failure
   * deletes what it wrote. Progress counts the bytes of every level scanned, out of
   * {@code levels * size}.
   */
  public static List<Path> run(Datastore ds, String volume, Path top, String format, Map<String, String> options,
      ChainProgress progress) throws IOException {
    List<SnapshotInfo> snapshots = ds.snapshots(volume);
    List<Path> files = new ArrayList<>();
    for (SnapshotInfo s : snapshots) {
      files.add(levelFile(top, s.name()));
    }
    files.add(top);
    for (Path f : files) {
      if (Files.exists(f)) {
        throw new IllegalArgumentException("will not overwrite " + f + ": it exists");
      }
    }
    boolean success = false;
    try {
      String previousId = null;
      long total = -1;
      for (int i = 0; i < files.size(); i++) {
        String spec = (i < snapshots.size() ? new SnapshotRef(volume, snapshots.get(i).name())
            : new SnapshotRef(volume, null)).toString();
        String backing = i == 0 ? null : files.get(i - 1).getFileName().toString();
        try (Volume level = ds.volume(spec, true);
            DiskImage out = ImageFormats.create(files.get(i), format, level.size(),
                new CreateOptions(options, backing, backing == null ? null : format))) {
          if (total < 0) {
            total = Math.max(1, files.size() * level.size());
          }
          long before = i * level.size();
          long all = total;
          if (previousId == null) {
            long cluster = out.info().clusterSize();
            int granule = cluster > 0 && cluster <= (2 << 20) ? (int) cluster : 4096;
            ImageConversion.copy(level, out, Runtime.getRuntime().availableProcessors(), granule,
                out.sequentialWritesOnly(), done -> progress.progressed(before + done, all));
          } else {
            copyChanges(ds, spec, previousId, level, out, done -> progress.progressed(before + done, all));
          }
          out.flush();
          previousId = i < snapshots.size() ? snapshots.get(i).changeId() : null;
        }
      }
      progress.progressed(total, total);
      success = true;
      return files;
    } finally {
      if (!success) {
        for (Path f : files) {
          Files.deleteIfExists(f);
        }
      }
    }
  }

  /** Writes into {@code out} the ranges of {@code level} that changed since change id {@code since}. */
  private static void copyChanges(Datastore ds, String spec, String since, Volume level, DiskImage out,
      java.util.function.LongConsumer progress) throws IOException {
    ChangedAreas changes = ds.changedAreas(spec, since, 0, level.size());
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    for (Extent changed : changes.extents()) {
      progress.accept(changed.offset());
      for (Extent e : level.allocation(changed.offset(), changed.length())) {
        if (e.kind().readsAsZeros()) {
          out.writeZeroes(e.offset(), e.length(), false); // must hide the backing file's data
          continue;
        }
        for (long pos = e.offset(); pos < e.end(); pos += CHUNK) {
          int n = (int) Math.min(CHUNK, e.end() - pos);
          buf.clear().limit(n);
          level.read(pos, buf);
          buf.flip();
          out.write(pos, buf);
        }
      }
    }
    progress.accept(level.size());
  }
}
