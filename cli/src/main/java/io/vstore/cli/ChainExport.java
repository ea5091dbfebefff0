package io.vstore.cli;

import io.vstore.blockstore.Extent;
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
final class ChainExport {
  private static final int CHUNK = 1 << 20;

  private ChainExport() {}

  /** Returns the file of level {@code snapshot} beside {@code top}: {@code top}'s name with {@code -snapshot}. */
  static Path levelFile(Path top, String snapshot) {
    String name = top.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String ext = dot > 0 ? name.substring(dot) : "";
    return top.resolveSibling(stem + "-" + snapshot + ext);
  }

  /** Writes the chain and returns its files, base first, {@code top} last. */
  static List<Path> run(Datastore ds, String volume, Path top, String format, Map<String, String> options)
      throws IOException {
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
      for (int i = 0; i < files.size(); i++) {
        String spec = i < snapshots.size() ? volume + "@" + snapshots.get(i).name() : volume;
        String backing = i == 0 ? null : files.get(i - 1).getFileName().toString();
        try (Volume level = ds.volume(spec, true);
            DiskImage out = ImageFormats.create(files.get(i), format, level.size(),
                new CreateOptions(options, backing, backing == null ? null : format))) {
          if (previousId == null) {
            ImageConversion.copy(level, out, Runtime.getRuntime().availableProcessors());
          } else {
            copyChanges(ds, spec, previousId, level, out);
          }
          out.flush();
          previousId = i < snapshots.size() ? snapshots.get(i).changeId() : null;
        }
      }
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
  private static void copyChanges(Datastore ds, String spec, String since, Volume level, DiskImage out)
      throws IOException {
    ChangedAreas changes = ds.changedAreas(spec, since, 0, level.size());
    ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
    for (Extent changed : changes.extents()) {
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
  }
}
