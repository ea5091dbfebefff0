package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Streaming comparisons between a vstore device and qemu's raw reading of the same image, and
 * qemu-img's view of an image's size and allocation; never holds a whole image in memory.
 */
final class LayoutChecks {
  private static final int CHUNK = 1 << 20;
  private static final Pattern VIRTUAL_SIZE = Pattern.compile("\"virtual-size\":\\s*(\\d+)");
  private static final Pattern MAP_ENTRY = Pattern.compile("\\{\\s*\"start\":\\s*(\\d+),\\s*\"length\":\\s*(\\d+),"
      + "\\s*\"depth\":\\s*\\d+,\\s*\"present\":\\s*(true|false),\\s*\"zero\":\\s*(true|false),"
      + "\\s*\"data\":\\s*(true|false)");

  /**
   * One range of {@code qemu-img map --output=json}.
   *
   * @param start first byte
   * @param length bytes
   * @param zero whether qemu knows the range reads as zeros
   * @param data whether qemu says the range holds data
   */
  record MapEntry(long start, long length, boolean zero, boolean data) {
    /** Returns the first byte after the range. */
    long end() {
      return start + length;
    }
  }

  private LayoutChecks() {}

  /** Returns the virtual size qemu-img info reports for {@code image}. */
  static long qemuVirtualSize(Path image, String format) throws IOException, InterruptedException {
    String json = QemuTool.ok("qemu-img", "info", "--output=json", "-f", format, image.toString());
    Matcher m = VIRTUAL_SIZE.matcher(json);
    if (!m.find()) {
      throw new AssertionError("qemu-img info of " + image + " names no virtual-size: " + json);
    }
    return Long.parseLong(m.group(1));
  }

  /** Returns qemu-img map's view of {@code image} (its whole chain). */
  static List<MapEntry> qemuMap(Path image, String format) throws IOException, InterruptedException {
    String json = QemuTool.ok("qemu-img", "map", "--output=json", "-f", format, image.toString());
    List<MapEntry> out = new ArrayList<>();
    Matcher m = MAP_ENTRY.matcher(json);
    while (m.find()) {
      out.add(new MapEntry(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
          Boolean.parseBoolean(m.group(4)), Boolean.parseBoolean(m.group(5))));
    }
    if (out.isEmpty()) {
      throw new AssertionError("qemu-img map of " + image + " printed no entries: " + json);
    }
    return out;
  }

  /** Returns the first offset where {@code device} reads differently from {@code raw}, or -1. */
  static long firstDifference(BlockDevice device, Path raw) throws IOException {
    try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
      if (ch.size() != device.size()) {
        throw new AssertionError(device + " has " + device.size() + " bytes, qemu's reading " + raw + " "
            + ch.size());
      }
      ByteBuffer a = ByteBuffer.allocate(CHUNK);
      ByteBuffer b = ByteBuffer.allocate(CHUNK);
      for (long pos = 0; pos < device.size(); pos += CHUNK) {
        int n = (int) Math.min(CHUNK, device.size() - pos);
        a.clear().limit(n);
        device.read(pos, a);
        b.clear().limit(n);
        readFully(ch, pos, b);
        int at = a.flip().mismatch(b.flip());
        if (at >= 0) {
          return pos + at;
        }
      }
      return -1;
    }
  }

  /** Returns the first non-zero byte of {@code raw} in {@code [from, to)}, or -1. */
  static long firstNonZero(FileChannel raw, long from, long to) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(CHUNK);
    for (long pos = from; pos < to; pos += CHUNK) {
      int n = (int) Math.min(CHUNK, to - pos);
      b.clear().limit(n);
      readFully(raw, pos, b);
      b.flip();
      for (int i = 0; i < n; i++) {
        if (b.get(i) != 0) {
          return pos + i;
        }
      }
    }
    return -1;
  }

  /**
   * Returns what is wrong with {@code device}'s allocation map judged by qemu: a range that
   * reports zeros must read zeros in qemu's reading {@code raw}, and a range that qemu knows to
   * be unallocated zeros ({@code zero: true, data: false}) must not report data over a whole
   * {@code granule}. Empty when nothing is wrong.
   */
  static List<String> allocationProblems(BlockDevice device, Path raw, List<MapEntry> qemu, long granule)
      throws IOException {
    List<String> problems = new ArrayList<>();
    List<Extent> extents = device.allocation(0, device.size());
    long pos = 0;
    for (Extent e : extents) {
      if (e.offset() != pos) {
        problems.add("extents do not tile the device: " + e + " follows end " + pos);
      }
      pos = e.end();
    }
    if (pos != device.size()) {
      problems.add("extents end at " + pos + ", not at the size " + device.size());
    }
    try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
      for (Extent e : extents) {
        if (e.kind().readsAsZeros()) {
          long at = firstNonZero(ch, e.offset(), e.end());
          if (at >= 0) {
            problems.add(e + " reads as zeros in vstore's map, but qemu reads non-zero byte at " + at);
          }
        }
      }
    }
    for (Extent e : extents) {
      if (e.kind() != Extent.Kind.DATA) {
        continue;
      }
      for (MapEntry q : qemu) {
        if (!q.zero() || q.data()) {
          continue;
        }
        long from = Math.max(e.offset(), q.start());
        long to = Math.min(e.end(), q.end());
        long alignedFrom = (from + granule - 1) / granule * granule;
        long alignedTo = to / granule * granule;
        if (alignedTo > alignedFrom) {
          problems.add(e + " is data in vstore's map, but qemu-img map says [" + alignedFrom + ", " + alignedTo
              + ") is unallocated zeros");
          break;
        }
      }
    }
    return problems;
  }

  private static void readFully(FileChannel ch, long pos, ByteBuffer dst) throws IOException {
    while (dst.hasRemaining()) {
      if (ch.read(dst, pos + dst.position()) < 0) {
        throw new IOException(ch + " ends before " + (pos + dst.limit()));
      }
    }
  }
}
