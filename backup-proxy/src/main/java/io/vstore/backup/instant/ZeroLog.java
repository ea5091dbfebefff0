package io.vstore.backup.instant;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The units the guest zeroed during an instant restore, kept durably beside the volume.
 *
 * <p>Why it exists: a thin volume stores zeros as nothing, so a unit the guest zeroed looks to
 * the volume exactly like a unit that was never restored, and the copy would fill it again from
 * the source. Each zeroing is therefore appended here and synced <em>before</em> the volume is
 * zeroed; a unit listed here is the volume's (it reads the volume, and the copy leaves it alone).
 *
 * <pre>
 * header (32 bytes, little-endian)          record (24 bytes, little-endian)
 *   0  magic "VSIRZERO"                         0  first unit (u64)
 *   8  version (u32) = 1                        8  end unit, exclusive (u64)
 *  12  unit size in bytes (u32)                16  CRC32C of bytes 0..15 and the record's file offset (u64)
 *  16  units of the volume (u64)               20  "ZREC"
 *  24  CRC32C of bytes 0..23 (u32)
 *  28  zero (u32)
 * </pre>
 *
 * A crash during an append leaves a short or bad <em>last</em> record, which is dropped on open;
 * a bad record before the last one is corruption.
 */
final class ZeroLog implements Closeable {
  static final byte[] MAGIC = "VSIRZERO".getBytes(StandardCharsets.US_ASCII);
  static final int VERSION = 1;
  static final int HEADER = 32;
  static final int RECORD = 24;
  private static final int RECORD_MARK = 0x4345525a; // "ZREC" little-endian

  private final Path file;
  private final FileChannel channel;
  private final long units;
  /** Disjoint, non-adjacent ranges: first unit to end unit. Guarded by this. */
  private final TreeMap<Long, Long> ranges = new TreeMap<>();
  /** Where the next record goes. Guarded by this. */
  private long end;
  private boolean closed;

  private ZeroLog(Path file, FileChannel channel, long units, long end) {
    this.file = file;
    this.channel = channel;
    this.units = units;
    this.end = end;
  }

  /** Creates an empty log at {@code file} (which must not exist) for {@code units} units of {@code unitSize}. */
  static ZeroLog create(Path file, int unitSize, long units) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    try {
      ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      h.put(MAGIC).putInt(VERSION).putInt(unitSize).putLong(units);
      h.putInt(crc(h.array(), 0, 24, -1)).putInt(0).flip();
      writeFully(ch, h, 0);
      ch.force(true);
      // The file's name must be durable too before anything relies on the log.
      syncDirectory(file.toAbsolutePath().getParent());
      return new ZeroLog(file, ch, units, HEADER);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Opens the log at {@code file}, which must describe {@code units} units of {@code unitSize}.
   *
   * @throws CorruptDataException if the header or a record before the last is damaged
   */
  static ZeroLog open(Path file, int unitSize, long units) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long size = ch.size();
      if (size < HEADER) {
        throw new CorruptDataException("not a zero log: " + file + " is " + size + " bytes, shorter than its header");
      }
      ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, h, 0);
      h.flip();
      byte[] magic = new byte[MAGIC.length];
      h.get(magic);
      if (!java.util.Arrays.equals(magic, MAGIC)) {
        throw new CorruptDataException("not a zero log: " + file + " (bad magic)");
      }
      int version = h.getInt();
      if (version != VERSION) {
        throw new UnsupportedFormatException(file.toString(), "zero log", version, VERSION, VERSION);
      }
      int storedUnit = h.getInt();
      long storedUnits = h.getLong();
      int storedCrc = h.getInt();
      if (storedCrc != crc(h.array(), 0, 24, -1)) {
        throw new CorruptDataException("bad zero log: " + file + ": header checksum mismatch");
      }
      if (storedUnit != unitSize || storedUnits != units) {
        throw new CorruptDataException("bad zero log: " + file + ": it describes " + storedUnits + " units of "
            + storedUnit + " bytes, the restore " + units + " of " + unitSize);
      }
      ZeroLog log = new ZeroLog(file, ch, units, HEADER);
      ByteBuffer r = ByteBuffer.allocate(RECORD).order(ByteOrder.LITTLE_ENDIAN);
      long pos = HEADER;
      while (pos + RECORD <= size) {
        r.clear();
        readFully(ch, r, pos);
        long first = r.getLong(0);
        long stop = r.getLong(8);
        boolean ok = r.getInt(16) == crc(r.array(), 0, 16, pos) && r.getInt(20) == RECORD_MARK && first >= 0
            && first < stop && stop <= units;
        if (!ok) {
          if (pos + RECORD < size) {
            throw new CorruptDataException("bad zero log: " + file + ": record at offset " + pos + " is damaged");
          }
          break; // a torn last append: the zeroing it announced never reached the volume
        }
        log.insert(first, stop);
        pos += RECORD;
      }
      if (pos != size) {
        ch.truncate(pos);
        ch.force(true);
      }
      log.end = pos;
      return log;
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  /** Returns whether unit {@code unit} was zeroed by the guest. */
  synchronized boolean covers(long unit) {
    Map.Entry<Long, Long> e = ranges.floorEntry(unit);
    return e != null && unit < e.getValue();
  }

  /** Returns whether every unit of {@code [first, stop)} was zeroed by the guest. */
  synchronized boolean coversAll(long first, long stop) {
    Map.Entry<Long, Long> e = ranges.floorEntry(first);
    return e != null && stop <= e.getValue();
  }

  /** Records durably that units {@code [first, stop)} were zeroed by the guest; returns once synced. */
  synchronized void add(long first, long stop) throws IOException {
    if (closed) {
      throw new io.vstore.blockstore.AlreadyClosedException(this);
    }
    if (first < 0 || first >= stop || stop > units) {
      throw new IllegalArgumentException("bad unit range [" + first + ", " + stop + ") of " + units);
    }
    if (coversAll(first, stop)) {
      return;
    }
    ByteBuffer r = ByteBuffer.allocate(RECORD).order(ByteOrder.LITTLE_ENDIAN);
    r.putLong(first).putLong(stop);
    r.putInt(crc(r.array(), 0, 16, end)).putInt(RECORD_MARK).flip();
    writeFully(channel, r, end);
    channel.force(false);
    end += RECORD;
    insert(first, stop);
  }

  /** Returns the number of disjoint zeroed ranges (what the log costs in memory). */
  synchronized int rangeCount() {
    return ranges.size();
  }

  private void insert(long first, long stop) {
    Map.Entry<Long, Long> before = ranges.floorEntry(first);
    if (before != null && before.getValue() >= first) {
      first = before.getKey();
      stop = Math.max(stop, before.getValue());
    }
    Map.Entry<Long, Long> next;
    while ((next = ranges.ceilingEntry(first)) != null && next.getKey() <= stop) {
      stop = Math.max(stop, next.getValue());
      ranges.remove(next.getKey());
    }
    ranges.put(first, stop);
  }

  @Override
  public synchronized void close() throws IOException {
    if (!closed) {
      closed = true;
      channel.close();
    }
  }

  @Override
  public String toString() {
    return "zero log " + file;
  }

  private static int crc(byte[] bytes, int from, int length, long position) {
    CRC32C c = new CRC32C();
    c.update(bytes, from, length);
    if (position >= 0) {
      c.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, position).array());
    }
    return (int) c.getValue();
  }

  private static void writeFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      pos += ch.write(b, pos);
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int n = ch.read(b, pos);
      if (n < 0) {
        throw new CorruptDataException("bad zero log: unexpected end at offset " + pos);
      }
      pos += n;
    }
  }

  /** Syncs directory {@code dir}, so that a file just created in it survives a crash. */
  static void syncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
