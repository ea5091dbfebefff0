package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The VHDX metadata log: finding the active sequence of entries and replaying it. The log is a
 * circular buffer of 4 KiB sectors; entries are little-endian.
 *
 * <pre>
 * entry header (64 bytes): "loge", CRC32C of the whole entry, entry length u32, tail u32 (log offset
 *   of the sequence's first entry), sequence number u64, descriptor count u32, reserved u32,
 *   log GUID [16], flushed file offset u64, last file offset u64
 * descriptors (32 bytes each, after the header, padded to 4 KiB):
 *   "zero": reserved u32, zero length u64, file offset u64, sequence number u64
 *   "desc": trailing bytes u32, leading bytes u64, file offset u64, sequence number u64
 * data sectors (4 KiB, one per "desc" in order): "data", sequence high u32, bytes 8..4091 of the
 *   sector, sequence low u32; the sector's first 8 and last 4 bytes are in the descriptor.
 * </pre>
 */
final class VhdxLog {
  /** Log sectors are 4 KiB. */
  static final int SECTOR = 4096;
  /** "loge" as a little-endian u32. */
  static final int ENTRY_SIGNATURE = 0x6567_6F6C;
  /** "desc" as a little-endian u32. */
  static final int DATA_DESCRIPTOR = 0x6373_6564;
  /** "zero" as a little-endian u32. */
  static final int ZERO_DESCRIPTOR = 0x6F72_657A;
  /** "data" as a little-endian u32. */
  static final int DATA_SIGNATURE = 0x6174_6164;
  /** Largest entry accepted, far beyond what a metadata update needs. */
  static final long MAX_ENTRY = 32L << 20;
  /** How far a log may extend the file, beyond which its last file offset is not believed. */
  static final long MAX_GROWTH = 1L << 30;

  private VhdxLog() {}

  /**
   * One change an entry makes: {@code length} zeros, or one 4 KiB sector whose bytes are at
   * {@code logPosition} of the log (plus the descriptor's leading and trailing bytes).
   */
  record Descriptor(boolean zero, long fileOffset, long length, long leading, int trailing, long logPosition) {}

  /** A validated log entry. */
  record Entry(long offset, long length, long sequence, long tail, long flushedFileOffset, long lastFileOffset,
      List<Descriptor> descriptors) {}

  /** Returns the entries to replay, oldest first; empty when the log holds nothing to replay. */
  static List<Entry> activeSequence(FileChannel ch, VhdxHeader h, String where) throws IOException {
    if (h.logGuid().equals(MsGuid.ZERO)) {
      return List.of();
    }
    long fileSize = ch.size();
    if (h.logLength() == 0 || h.logLength() % (1 << 20) != 0 || h.logOffset() < (1 << 20)
        || h.logOffset() % (1 << 20) != 0 || h.logOffset() > fileSize || h.logLength() > fileSize - h.logOffset()) {
      throw new CorruptImageException("bad vhdx: " + where + ": log at offset " + h.logOffset() + " length "
          + h.logLength() + " is misaligned or outside the file (size " + fileSize + ")");
    }
    Map<Long, Entry> valid = new HashMap<>();
    for (long off = 0; off < h.logLength(); off += SECTOR) {
      Entry e = tryRead(ch, h, off);
      if (e != null) {
        valid.put(off, e);
      }
    }
    List<Entry> best = List.of();
    long bestSeq = -1;
    for (Entry head : valid.values()) {
      if (Long.compareUnsigned(head.sequence(), bestSeq) <= 0 && bestSeq != -1) {
        continue;
      }
      List<Entry> seq = new ArrayList<>();
      Entry cur = valid.get(head.tail());
      while (cur != null && seq.size() <= valid.size()) {
        if (!seq.isEmpty() && cur.sequence() != seq.getLast().sequence() + 1) {
          break;
        }
        seq.add(cur);
        if (cur == head) {
          best = seq;
          bestSeq = head.sequence();
          break;
        }
        cur = valid.get((cur.offset() + cur.length()) % h.logLength());
      }
    }
    for (Entry e : best) {
      if (e.flushedFileOffset() > fileSize) {
        throw new CorruptImageException("bad vhdx: " + where + ": log entry " + e.sequence() + " expects the file to be at least "
            + e.flushedFileOffset() + " bytes but it is " + fileSize + "; the file has been truncated");
      }
      if (e.lastFileOffset() > fileSize + MAX_GROWTH) {
        throw new CorruptImageException("bad vhdx: " + where + ": log entry " + e.sequence() + " last file offset "
            + e.lastFileOffset() + " is far beyond the file (size " + fileSize + ")");
      }
      long limit = Math.max(fileSize, e.lastFileOffset());
      for (Descriptor d : e.descriptors()) {
        if (d.fileOffset() < (1 << 20) || d.fileOffset() % SECTOR != 0 || d.length() % SECTOR != 0
            || d.fileOffset() > limit || d.length() > limit - d.fileOffset()) {
          throw new CorruptImageException("bad vhdx: " + where + ": log entry " + e.sequence() + " writes " + d.length()
              + " bytes at file offset " + d.fileOffset() + ", outside the file's structures (limit " + limit + ")");
        }
      }
    }
    return best;
  }

  /** Reads the entry at log offset {@code off}, or returns null when none valid starts there. */
  private static Entry tryRead(FileChannel ch, VhdxHeader h, long off) throws IOException {
    ByteBuffer first = readLog(ch, h, off, SECTOR);
    if (first.getInt(0) != ENTRY_SIGNATURE) {
      return null;
    }
    long length = Integer.toUnsignedLong(first.getInt(8));
    long tail = Integer.toUnsignedLong(first.getInt(12));
    long seq = first.getLong(16);
    long count = Integer.toUnsignedLong(first.getInt(24));
    UUID guid = MsGuid.read(first, 32);
    if (!guid.equals(h.logGuid()) || length < SECTOR || length % SECTOR != 0 || length > h.logLength()
        || length > MAX_ENTRY || tail % SECTOR != 0 || tail >= h.logLength() || seq == 0
        || 64 + count * 32 > length) {
      return null;
    }
    ByteBuffer entry = readLog(ch, h, off, (int) length);
    int stored = entry.getInt(4);
    entry.putInt(4, 0);
    CRC32C crc = new CRC32C();
    crc.update(entry.duplicate().clear());
    if ((int) crc.getValue() != stored) {
      return null;
    }
    long headerBytes = (64 + count * 32 + SECTOR - 1) / SECTOR * SECTOR;
    long dataPos = headerBytes;
    List<Descriptor> descriptors = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int at = 64 + i * 32;
      int sig = entry.getInt(at);
      long dseq = entry.getLong(at + 24);
      if (dseq != seq) {
        return null;
      }
      if (sig == ZERO_DESCRIPTOR) {
        descriptors.add(new Descriptor(true, entry.getLong(at + 16), entry.getLong(at + 8), 0, 0, -1));
      } else if (sig == DATA_DESCRIPTOR) {
        if (dataPos + SECTOR > length) {
          return null;
        }
        int p = (int) dataPos;
        if (entry.getInt(p) != DATA_SIGNATURE || Integer.toUnsignedLong(entry.getInt(p + 4)) != seq >>> 32
            || entry.getInt(p + SECTOR - 4) != (int) seq) {
          return null;
        }
        descriptors.add(new Descriptor(false, entry.getLong(at + 16), SECTOR, entry.getLong(at + 8),
            entry.getInt(at + 4), (off + dataPos) % h.logLength()));
        dataPos += SECTOR;
      } else {
        return null;
      }
    }
    return new Entry(off, length, seq, tail, first.getLong(48), first.getLong(56), descriptors);
  }

  /** Reads {@code length} bytes of the circular log starting at log offset {@code off}. */
  private static ByteBuffer readLog(FileChannel ch, VhdxHeader h, long off, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    long pos = off;
    while (b.hasRemaining()) {
      int n = (int) Math.min(b.remaining(), h.logLength() - pos);
      ByteBuffer part = b.slice(b.position(), n);
      FileContent.readOrZero(ch, h.logOffset() + pos, part);
      b.position(b.position() + n);
      pos = (pos + n) % h.logLength();
    }
    return b.clear();
  }

  /** Applies {@code entries} in order to the file, then extends it to the last file offset. */
  static void replay(FileChannel ch, VhdxHeader h, List<Entry> entries) throws IOException {
    long lastFileOffset = 0;
    ByteBuffer zeros = ByteBuffer.allocate(1 << 20);
    for (Entry e : entries) {
      for (Descriptor d : e.descriptors()) {
        if (d.zero()) {
          for (long done = 0; done < d.length(); ) {
            int n = (int) Math.min(zeros.capacity(), d.length() - done);
            FileContent.writeFully(ch, d.fileOffset() + done, zeros.clear().limit(n));
            done += n;
          }
        } else {
          ByteBuffer sector = readLog(ch, h, d.logPosition(), SECTOR);
          sector.putLong(0, d.leading());
          sector.putInt(SECTOR - 4, d.trailing());
          FileContent.writeFully(ch, d.fileOffset(), sector);
        }
      }
      lastFileOffset = Math.max(lastFileOffset, e.lastFileOffset());
    }
    if (ch.size() < lastFileOffset) {
      FileContent.writeFully(ch, lastFileOffset - 1, ByteBuffer.allocate(1));
    }
  }
}
