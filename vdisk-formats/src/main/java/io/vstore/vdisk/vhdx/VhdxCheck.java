package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Consistency check of a VHDX file, counted as qemu-img counts it: structural and checksum errors,
 * BAT entries past the end of the file or overlapping metadata or each other. A log that still
 * needs replaying marks the file incomplete (an interrupted metadata update).
 */
final class VhdxCheck {
  private VhdxCheck() {}

  /** Checks {@code path} without changing it. */
  static CheckResult check(Path path) throws IOException {
    List<String> corruptions = new ArrayList<>();
    boolean incomplete = false;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      VhdxFormat.Layout layout;
      try {
        layout = VhdxFormat.readLayout(path, ch, false);
        if (!layout.log().isEmpty()) {
          incomplete = true;
          corruptions.add("the log holds " + layout.log().size() + " entries not yet replayed");
          return new CheckResult(path.toString(), VhdxFormat.NAME, corruptions, List.of(), true);
        }
      } catch (CorruptImageException | UnsupportedFormatException e) {
        corruptions.add(e.getMessage());
        return new CheckResult(path.toString(), VhdxFormat.NAME, corruptions, List.of(), false);
      }
      long fileSize = ch.size();
      long chunkRatio = VhdxImage.chunkRatio(layout.metadata());
      long blockSize = layout.metadata().blockSize();
      TreeMap<Long, Integer> used = new TreeMap<>();
      long[] bat = layout.bat();
      for (int i = 0; i < bat.length; i++) {
        int state = (int) (bat[i] & 7);
        boolean isBitmap = i % (chunkRatio + 1) == chunkRatio;
        boolean present = isBitmap
            ? state == VhdxImage.SB_PRESENT && layout.metadata().hasParent()
            : state == VhdxImage.FULLY_PRESENT || state == VhdxImage.PARTIALLY_PRESENT;
        if (!present) {
          continue;
        }
        long off = bat[i] & VhdxImage.OFFSET_MASK;
        long span = isBitmap ? VhdxImage.MIB : blockSize;
        if (off + span > fileSize) {
          corruptions.add("BAT entry " + i + ": block at 0x" + Long.toHexString(off) + " ends beyond the end of the file (size "
              + fileSize + ")");
        }
        var before = used.floorEntry(off + span - 1);
        if (before != null) {
          long bOff = before.getKey();
          int bIdx = before.getValue();
          long bSpan = bIdx % (chunkRatio + 1) == chunkRatio ? VhdxImage.MIB : blockSize;
          if (bOff + bSpan > off) {
            corruptions.add("BAT entry " + i + " at 0x" + Long.toHexString(off) + " overlaps BAT entry " + bIdx);
          }
        }
        var after = used.ceilingEntry(off);
        if (after != null && after.getKey() < off + span && (before == null || !after.getKey().equals(before.getKey()))) {
          corruptions.add("BAT entry " + i + " at 0x" + Long.toHexString(off) + " overlaps BAT entry " + after.getValue());
        }
        used.put(off, i);
      }
    }
    return new CheckResult(path.toString(), VhdxFormat.NAME, corruptions, List.of(), incomplete);
  }
}
