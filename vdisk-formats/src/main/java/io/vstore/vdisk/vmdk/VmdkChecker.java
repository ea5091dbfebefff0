package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a VMDK without changing it: descriptor sanity, grain directory against its redundant
 * copy, grain tables and grains inside the file, grains not overlapping metadata or each other,
 * unreferenced grain-sized space (leaks), and a streamOptimized stream's footer.
 */
final class VmdkChecker {
  private static final int SECTOR = 512;
  /** Problems listed before the rest are only counted. */
  private static final int MAX_LISTED = 100;

  private VmdkChecker() {}

  /** Checks {@code path} and reports what it found. */
  static CheckResult check(Path path) throws IOException {
    List<String> corruptions = new ArrayList<>();
    List<String> leaks = new ArrayList<>();
    boolean incomplete = false;
    VmdkImage image;
    try {
      image = VmdkImage.open(path, true, null, false, ImageFiles.PLATFORM);
    } catch (CorruptImageException e) {
      String m = e.getMessage();
      incomplete = m.contains("no footer") || m.contains("end-of-stream");
      corruptions.add(m);
      return new CheckResult(path.toString(), "vmdk", corruptions, leaks, incomplete);
    }
    try (image) {
      Descriptor d = image.descriptor();
      if (d.hasParent() && d.parentFileNameHint() == null) {
        corruptions.add("bad vmdk: " + path + ": parentCID set but no parentFileNameHint");
      }
      for (ExtentData e : image.extents()) {
        if (e instanceof SparseExtent s) {
          checkSparse(s, corruptions, leaks);
        } else if (e instanceof SeSparseExtent se) {
          se.check(corruptions);
        } else if (e instanceof FlatExtent f && Files.size(f.file()) < f.size()) {
          // Shorter flat files read as zeros past their end (qemu does the same); worth reporting.
          leaks.add("vmdk: " + f.file() + ": flat extent file is " + Files.size(f.file()) + " bytes, extent is " + f.size());
        }
      }
    }
    if (corruptions.size() > MAX_LISTED) {
      int more = corruptions.size() - MAX_LISTED;
      corruptions = new ArrayList<>(corruptions.subList(0, MAX_LISTED));
      corruptions.add("... and " + more + " more");
    }
    return new CheckResult(path.toString(), "vmdk", corruptions, leaks, incomplete);
  }

  private record Range(long start, long end, String what) {}

  private static void checkSparse(SparseExtent s, List<String> corruptions, List<String> leaks) throws IOException {
    SparseHeader h = s.header();
    Path file = s.file();
    long fileSize = s.fileSize();
    long grainSectors = h.grainSize();
    int[] gd = s.directory();
    int[] rgd = s.redundantDirectory();
    long gtSectors = ((long) h.numGtesPerGt() * 4 + SECTOR - 1) / SECTOR;
    long gdSectors = ((long) gd.length * 4 + SECTOR - 1) / SECTOR;
    List<Range> used = new ArrayList<>();
    used.add(new Range(0, 1, "header"));
    if (h.descriptorOffset() > 0) {
      used.add(new Range(h.descriptorOffset(), h.descriptorOffset() + h.descriptorSize(), "descriptor"));
    }
    used.add(new Range(h.gdOffset(), h.gdOffset() + gdSectors, "grain directory"));
    if (rgd != null) {
      used.add(new Range(h.rgdOffset(), h.rgdOffset() + gdSectors, "redundant grain directory"));
    }
    long maxGrain = (h.capacity() + grainSectors - 1) / grainSectors;
    for (int i = 0; i < gd.length; i++) {
      int[] t;
      int[] r = null;
      try {
        t = s.table(i);
      } catch (CorruptImageException e) {
        corruptions.add(e.getMessage());
        continue;
      }
      if (t != null) {
        used.add(new Range(Integer.toUnsignedLong(gd[i]), Integer.toUnsignedLong(gd[i]) + gtSectors, "grain table " + i));
      }
      if (rgd != null) {
        try {
          r = s.redundantTable(i);
        } catch (CorruptImageException e) {
          corruptions.add(e.getMessage());
        }
        if (r != null) {
          used.add(new Range(Integer.toUnsignedLong(rgd[i]), Integer.toUnsignedLong(rgd[i]) + gtSectors, "redundant grain table " + i));
        }
        if ((t == null) != (r == null) || (t != null && r != null && !java.util.Arrays.equals(t, r))) {
          corruptions.add("bad vmdk: " + file + ": grain table " + i + " differs from its redundant copy");
        }
      }
      if (t == null) {
        continue;
      }
      for (int j = 0; j < t.length; j++) {
        long grain = (long) i * t.length + j;
        long gte = Integer.toUnsignedLong(t[j]);
        if (gte == 0 || (gte == 1 && h.zeroGrain())) {
          continue;
        }
        if (grain >= maxGrain) {
          corruptions.add("bad vmdk: " + file + ": grain table " + i + " entry " + j + " maps grain " + grain
              + " past the capacity");
          continue;
        }
        long length = h.compressed() ? compressedSectors(s, gte) : grainSectors;
        if (length < 0 || gte * SECTOR >= fileSize) {
          corruptions.add("bad vmdk: " + file + ": grain " + grain + " at sector " + gte
              + (length < 0 ? " has no valid grain marker or" : "") + " lies past end of file (size " + fileSize + ")");
          continue;
        }
        used.add(new Range(gte, gte + length, "grain " + grain));
      }
    }
    used.sort((a, b) -> Long.compare(a.start, b.start));
    long end = 0;
    Range previous = null;
    long fileSectors = (fileSize + SECTOR - 1) / SECTOR;
    long leaked = 0;
    for (Range r : used) {
      if (previous != null && r.start < end) {
        corruptions.add("bad vmdk: " + file + ": " + r.what + " at sector " + r.start + " overlaps " + previous.what
            + " (sectors " + previous.start + ".." + end + ")");
      } else if (!h.compressed() && r.start - end >= grainSectors && end >= h.overhead()) {
        leaked += r.start - end;
      }
      if (r.end > end) {
        end = r.end;
        previous = r;
      }
    }
    if (!h.compressed() && fileSectors - end >= grainSectors) {
      leaked += fileSectors - Math.max(end, h.overhead());
    }
    if (leaked >= grainSectors) {
      leaks.add("vmdk: " + file + ": " + leaked / grainSectors + " grain(s) of space referenced by no grain table");
    }
  }

  /** Returns the sectors a compressed grain occupies, or -1 when its marker is unreadable. */
  private static long compressedSectors(SparseExtent s, long gte) throws IOException {
    if (!s.header().markers()) {
      return 1;
    }
    if (gte * SECTOR + GrainMarker.GRAIN_HEADER > s.fileSize()) {
      return -1;
    }
    ByteBuffer m = ByteBuffer.allocate(GrainMarker.GRAIN_HEADER);
    ChannelIo.readFully(s.channel(), gte * SECTOR, m, s.file() + ": grain marker");
    GrainMarker marker = GrainMarker.read(m.flip());
    long bytes = GrainMarker.GRAIN_HEADER + Integer.toUnsignedLong(marker.size());
    if (marker.size() == 0 || gte * SECTOR + bytes > s.fileSize()) {
      return -1;
    }
    return (bytes + SECTOR - 1) / SECTOR;
  }
}
