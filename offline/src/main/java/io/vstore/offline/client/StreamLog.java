package io.vstore.offline.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A durable list of unit runs of a streaming check-out, appended and synced: in {@code stream.log}
 * the chunks that arrived (appended after their data was flushed), in {@code stream-dirty.log} the
 * blocks the guest wrote while streaming (appended before the write, so a write that survives a
 * crash is always listed). Records are 24 bytes, big-endian: u32 magic 'VXS1', u16 disk, u16
 * reserved, u64 first unit, u32 unit count, u32 CRC32C of bytes 0..19. Reading stops at the first
 * torn or bad record (a crash mid-append) and cuts it off.
 */
final class StreamLog implements AutoCloseable {
  static final String PRESENT = "stream.log";
  static final String DIRTY = "stream-dirty.log";
  private static final int MAGIC = 0x56585331;
  private static final int RECORD = 24;
  /** A log longer than this is not ours (1 Mi records cover far more than any disk's chunks). */
  private static final long MAX_SIZE = (long) RECORD << 20;

  /** One run of units of a disk. */
  record Run(int disk, long first, long count) {}

  private final Path file;
  private final FileChannel ch;
  private final List<Run> runs;
  private final CRC32C crc = new CRC32C();

  private StreamLog(Path file, FileChannel ch, List<Run> runs) {
    this.file = file;
    this.ch = ch;
    this.runs = runs;
  }

  /** Opens (or creates) the log {@code file} and reads the runs it records. */
  static StreamLog open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    try {
      long size = ch.size();
      if (size > MAX_SIZE) {
        throw new IOException("bad stream log " + file + ": " + size + " bytes, at most " + MAX_SIZE + " expected");
      }
      List<Run> runs = read(file, ch, size);
      long valid = (long) runs.size() * RECORD;
      ch.truncate(valid);
      ch.position(valid);
      return new StreamLog(file, ch, runs);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Returns the runs of {@code file} without keeping it open; none when it does not exist. */
  static List<Run> readAll(Path file) throws IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    try (StreamLog log = open(file)) {
      return log.runs();
    }
  }

  private static List<Run> read(Path file, FileChannel ch, long size) throws IOException {
    ByteBuffer all = ByteBuffer.allocate((int) size).order(ByteOrder.BIG_ENDIAN);
    while (all.hasRemaining() && ch.read(all, all.position()) > 0) {
      // read the whole (bounded) file
    }
    all.flip();
    List<Run> runs = new ArrayList<>();
    CRC32C crc = new CRC32C();
    while (all.remaining() >= RECORD) {
      int start = all.position();
      int magic = all.getInt();
      int disk = Short.toUnsignedInt(all.getShort());
      all.getShort();
      long first = all.getLong();
      long count = Integer.toUnsignedLong(all.getInt());
      int sum = all.getInt();
      crc.reset();
      crc.update(all.array(), start, 20);
      if (magic != MAGIC || sum != (int) crc.getValue() || first < 0 || count == 0) {
        break; // a torn append: what follows was never acknowledged
      }
      runs.add(new Run(disk, first, count));
    }
    return runs;
  }

  /** Returns the runs read at open and appended since. */
  synchronized List<Run> runs() {
    return List.copyOf(runs);
  }

  /** Appends the runs {@code add} and syncs them. */
  synchronized void append(List<Run> add) throws IOException {
    if (add.isEmpty()) {
      return;
    }
    ByteBuffer out = ByteBuffer.allocate(RECORD * add.size()).order(ByteOrder.BIG_ENDIAN);
    for (Run r : add) {
      if (r.count() <= 0 || r.count() > 0xFFFF_FFFFL || r.disk() < 0 || r.disk() > 0xFFFF) {
        throw new IllegalArgumentException("bad run " + r + " for " + file);
      }
      int start = out.position();
      out.putInt(MAGIC).putShort((short) r.disk()).putShort((short) 0).putLong(r.first()).putInt((int) r.count());
      crc.reset();
      crc.update(out.array(), start, 20);
      out.putInt((int) crc.getValue());
    }
    out.flip();
    while (out.hasRemaining()) {
      ch.write(out);
    }
    ch.force(false);
    runs.addAll(add);
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }

  @Override
  public String toString() {
    return file.toString();
  }
}
