package io.vstore.offline.client;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Which units of the download have arrived, durably: {@code transfer.log}, 16-byte records
 * (u32 magic 'VXP1', u16 disk, u16 reserved, u32 unit, u32 CRC32C of bytes 0..11), appended and
 * synced after the unit's data was flushed into the copy's datastore. Reading stops at the first
 * torn or bad record (a crash mid-append): that unit is fetched again.
 */
final class TransferProgress implements AutoCloseable {
  static final String FILE = "transfer.log";
  private static final int MAGIC = 0x56585031;
  private static final int RECORD = 16;
  private final FileChannel ch;
  private final Map<Integer, BitSet> done = new HashMap<>();
  private final ByteBuffer rec = ByteBuffer.allocate(RECORD).order(ByteOrder.BIG_ENDIAN);

  private TransferProgress(FileChannel ch) {
    this.ch = ch;
  }

  /** Opens (or creates) the log in {@code dir} and reads what it records. */
  static TransferProgress open(Path dir) throws IOException {
    Path f = dir.resolve(FILE);
    FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    TransferProgress p = new TransferProgress(ch);
    long size = ch.size();
    ByteBuffer all = ByteBuffer.allocate((int) Math.min(size, 64L << 20)).order(ByteOrder.BIG_ENDIAN);
    long valid = 0;
    CRC32C crc = new CRC32C();
    for (long pos = 0; pos + RECORD <= size; ) {
      all.clear();
      ch.read(all, pos);
      all.flip();
      boolean bad = false;
      while (all.remaining() >= RECORD) {
        int start = all.position();
        int magic = all.getInt();
        int disk = Short.toUnsignedInt(all.getShort());
        all.getShort();
        int unit = all.getInt();
        int sum = all.getInt();
        crc.reset();
        crc.update(all.array(), start, 12);
        if (magic != MAGIC || sum != (int) crc.getValue()) {
          bad = true;
          break;
        }
        p.done.computeIfAbsent(disk, k -> new BitSet()).set(unit);
        valid += RECORD;
      }
      if (bad || all.position() == 0) {
        break;
      }
      pos = valid;
    }
    ch.truncate(valid); // a torn tail would hide the records appended after it
    ch.position(valid);
    return p;
  }

  /** Returns whether unit {@code unit} of disk {@code disk} has arrived. */
  synchronized boolean isDone(int disk, int unit) {
    BitSet b = done.get(disk);
    return b != null && b.get(unit);
  }

  /** Returns the number of units of {@code disk} that arrived. */
  synchronized int count(int disk) {
    BitSet b = done.get(disk);
    return b == null ? 0 : b.cardinality();
  }

  /** Records that unit {@code unit} of disk {@code disk} arrived (its data already flushed). */
  synchronized void markDone(int disk, int unit) throws IOException {
    rec.clear();
    rec.putInt(MAGIC).putShort((short) disk).putShort((short) 0).putInt(unit);
    CRC32C crc = new CRC32C();
    crc.update(rec.array(), 0, 12);
    rec.putInt((int) crc.getValue());
    rec.flip();
    while (rec.hasRemaining()) {
      ch.write(rec);
    }
    ch.force(false);
    done.computeIfAbsent(disk, k -> new BitSet()).set(unit);
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }

  /** Deletes the log of {@code dir} (the download is complete). */
  static void delete(Path dir) throws IOException {
    Files.deleteIfExists(dir.resolve(FILE));
  }
}
