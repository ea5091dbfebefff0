package io.vstore.vdisk.vhd;

import io.vstore.vdisk.CheckResult;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.vhd.VhdDynamicHeader.ParentLocator;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Consistency check of a VHD file: checksums and structure (through the reader's validation), BAT
 * entries in range and not overlapping each other or the metadata, and unreferenced space (leaks,
 * which an interrupted block allocation leaves behind).
 */
final class VhdCheck {
  private VhdCheck() {}

  /** A used byte range of the file and what uses it. */
  private record Span(long start, long end, String what) {}

  /** Checks {@code path} without changing it. */
  static CheckResult check(Path path) throws IOException {
    List<String> corruptions = new ArrayList<>();
    List<String> leaks = new ArrayList<>();
    boolean incomplete = false;
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      VhdFormat.Layout layout;
      try {
        layout = VhdFormat.readLayout(path, ch);
      } catch (CorruptImageException e) {
        corruptions.add(e.getMessage());
        return new CheckResult(path.toString(), VhdFormat.NAME, corruptions, leaks, false);
      }
      if (!layout.footerAtEnd()) {
        incomplete = true;
        corruptions.add("footer missing at the end of the file (only the copy at offset 0 is valid)");
      }
      VhdDynamicHeader header = layout.header();
      if (header == null) {
        return new CheckResult(path.toString(), VhdFormat.NAME, corruptions, leaks, incomplete);
      }
      long fileSize = ch.size();
      List<Span> spans = new ArrayList<>();
      spans.add(new Span(0, VhdFooter.SIZE, "footer copy"));
      long headerAt = layout.footer().dataOffset();
      spans.add(new Span(headerAt, headerAt + VhdDynamicHeader.SIZE, "dynamic header"));
      long batBytes = (header.maxTableEntries() * 4 + 511) / 512 * 512;
      spans.add(new Span(header.tableOffset(), header.tableOffset() + batBytes, "BAT"));
      for (ParentLocator l : header.locators()) {
        if (l.dataLength() > ParentLocator.MAX_DATA_LENGTH || l.dataOffset() < 0
            || l.dataOffset() + l.dataLength() > fileSize) {
          corruptions.add("parent locator " + l.codeName() + " at offset " + l.dataOffset() + " length "
              + l.dataLength() + " lies outside the file");
        } else {
          long space = Math.max((l.dataLength() + 511) / 512 * 512, l.dataSpace() <= 1 << 16 && l.dataSpace() >= 512
              ? (l.dataSpace() + 511) / 512 * 512 : 512);
          spans.add(new Span(l.dataOffset(), l.dataOffset() + space, "parent locator " + l.codeName()));
        }
      }
      long blockSpan = header.bitmapSize() + header.blockSize();
      int[] bat = layout.bat();
      long limit = layout.footerAtEnd() ? fileSize - VhdFooter.SIZE : fileSize;
      for (int i = 0; i < bat.length; i++) {
        if (bat[i] == -1) {
          continue;
        }
        long start = Integer.toUnsignedLong(bat[i]) * 512;
        if (start + blockSpan > limit) {
          corruptions.add("BAT entry " + i + ": block at 0x" + Long.toHexString(start) + " overlaps the footer");
        }
        if ((long) i * header.blockSize() >= layout.footer().virtualSize()) {
          corruptions.add("BAT entry " + i + " is beyond the virtual size but allocated");
        }
        spans.add(new Span(start, start + blockSpan, "block " + i));
      }
      spans.sort(Comparator.comparingLong(Span::start));
      long covered = 0;
      Span previous = null;
      for (Span s : spans) {
        if (previous != null && s.start() < previous.end()) {
          corruptions.add(s.what() + " at 0x" + Long.toHexString(s.start()) + " overlaps " + previous.what()
              + " ending at 0x" + Long.toHexString(previous.end()));
        } else if (s.start() > covered) {
          leaks.add((s.start() - covered) + " bytes unreferenced at 0x" + Long.toHexString(covered));
        }
        if (previous == null || s.end() > previous.end()) {
          previous = s;
        }
        covered = Math.max(covered, s.end());
      }
      if (limit > covered) {
        leaks.add((limit - covered) + " bytes unreferenced at 0x" + Long.toHexString(covered));
      }
    }
    return new CheckResult(path.toString(), VhdFormat.NAME, corruptions, leaks, incomplete);
  }
}
