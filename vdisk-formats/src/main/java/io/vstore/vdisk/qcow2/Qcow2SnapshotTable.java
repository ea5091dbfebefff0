package io.vstore.vdisk.qcow2;

import io.vstore.vdisk.CorruptImageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The qcow2 snapshot table ({@code docs/interop/qcow2.txt}, "Snapshots"): {@code nb_snapshots}
 * entries from {@code snapshots_offset}, each big-endian and padded to a multiple of 8 bytes:
 *
 * <pre>
 *   0  l1_table_offset (u64)     8  l1_size (u32, entries)
 *  12  id_str_size (u16)        14  name_size (u16)
 *  16  date_sec (u32)           20  date_nsec (u32)
 *  24  vm_clock_nsec (u64)      32  vm_state_size (u32)
 *  36  extra_data_size (u32)    40  extra data, then id, then name (no NUL), then padding
 * extra data: 0 vm_state_size_large (u64), 8 disk_size (u64), 16 icount (u64), ...
 * </pre>
 *
 * Version 3 requires at least 16 bytes of extra data (the disk size); unknown extra data is kept as
 * it is when the table is rewritten, as QEMU does.
 */
final class Qcow2SnapshotTable {
  /** QEMU's limits: QCOW_MAX_SNAPSHOTS, the table's size and QCOW_MAX_SNAPSHOT_EXTRA_DATA. */
  static final int MAX_SNAPSHOTS = 65536;
  static final long MAX_TABLE_BYTES = 64L << 20;
  static final int MAX_EXTRA_DATA = 1024;
  static final int FIXED = 40;
  /** Extra data vstore writes: vm_state_size_large, disk_size and icount. */
  static final int EXTRA_WRITTEN = 24;

  private Qcow2SnapshotTable() {}

  /**
   * One snapshot table entry.
   *
   * @param l1TableOffset host offset of the snapshot's L1 table copy
   * @param l1Size entries in that copy
   * @param idBytes the unique id string as stored (qemu numbers them 1, 2, ...)
   * @param nameBytes the name (tag) as stored; both are kept as bytes so that rewriting the table
   *     never changes an entry another tool wrote, valid UTF-8 or not
   * @param dateSec creation time, seconds since the epoch (u32)
   * @param dateNsec nanoseconds of the creation time
   * @param vmClockNsec guest clock at creation (0 for disk-only snapshots)
   * @param vmStateSize bytes of saved VM state (u32 field, 0 for disk-only snapshots)
   * @param extra the extra data, exactly as stored
   */
  record Entry(long l1TableOffset, int l1Size, byte[] idBytes, byte[] nameBytes, long dateSec, int dateNsec,
      long vmClockNsec, long vmStateSize, byte[] extra) {

    /** Returns the id as text. */
    String id() {
      return new String(idBytes, StandardCharsets.UTF_8);
    }

    /** Returns the name as text. */
    String name() {
      return new String(nameBytes, StandardCharsets.UTF_8);
    }

    /** Returns the disk size the snapshot was taken at, or -1 when the extra data does not say (version 2). */
    long diskSize() {
      return extra.length >= 16 ? ByteBuffer.wrap(extra).getLong(8) : -1;
    }

    /** Returns the VM state size, the 64-bit field when present. */
    long vmStateSizeLarge() {
      return extra.length >= 8 ? ByteBuffer.wrap(extra).getLong(0) : vmStateSize;
    }

    /** Returns the instruction count of record/replay, or -1 when not recorded. */
    long icount() {
      return extra.length >= 24 ? ByteBuffer.wrap(extra).getLong(16) : -1;
    }

    /** Returns the bytes this entry takes in the table, padding included. */
    long encodedLength() {
      return (FIXED + (long) extra.length + idBytes.length + nameBytes.length + 7) & ~7L;
    }

    /** Returns extra data holding {@code diskSize} (VM state 0, icount -1 "not recorded"). */
    static byte[] extraFor(long diskSize) {
      return ByteBuffer.allocate(EXTRA_WRITTEN).putLong(0).putLong(diskSize).putLong(-1).array();
    }
  }

  /**
   * Reads the table of {@code h} from {@code ch}: first the entries' fixed parts one by one (so that
   * only the bytes the table really spans are allocated), then the whole table, then parses it.
   * Returns an empty list when the image has no snapshots.
   */
  static List<Entry> read(FileChannel ch, Qcow2Header h, long fileSize, String file) throws IOException {
    int n = h.nbSnapshots();
    if (n == 0) {
      return List.of();
    }
    long start = h.snapshotsOffset();
    checkPlace(start, n, fileSize, h.clusterSize(), file);
    long pos = start;
    ByteBuffer fixed = ByteBuffer.allocate(FIXED).order(ByteOrder.BIG_ENDIAN);
    for (int i = 0; i < n; i++) {
      if (pos - start + FIXED > MAX_TABLE_BYTES || pos + FIXED > fileSize) {
        throw new CorruptImageException("bad qcow2: " + file + " snapshot table entry " + i + " at 0x"
            + Long.toHexString(pos) + " is beyond the end of file (size " + fileSize + ") or the table limit");
      }
      Qcow2Io.readFully(ch, pos, fixed.clear(), file, "snapshot table entry " + i);
      pos += entryLength(fixed.flip(), 0, i, file);
    }
    long length = pos - start;
    if (length > MAX_TABLE_BYTES || pos > fileSize) {
      throw new CorruptImageException("bad qcow2: " + file + " snapshot table at 0x" + Long.toHexString(start)
          + " of " + length + " bytes runs past the end of file (size " + fileSize + ") or the table limit");
    }
    ByteBuffer all = ByteBuffer.allocate((int) length);
    Qcow2Io.readFully(ch, start, all, file, "snapshot table");
    return parse(all.flip(), n, file);
  }

  /** Returns the bytes the table of {@code entries} spans from its offset (what {@link #read} read). */
  static long length(List<Entry> entries) {
    long n = 0;
    for (Entry e : entries) {
      n += e.encodedLength();
    }
    return n;
  }

  private static void checkPlace(long start, int n, long fileSize, int clusterSize, String file)
      throws CorruptImageException {
    if (n < 0 || n > MAX_SNAPSHOTS) {
      throw new CorruptImageException("bad qcow2: " + file + " has " + Integer.toUnsignedString(n)
          + " snapshots (limit " + MAX_SNAPSHOTS + ")");
    }
    if (start <= 0 || (start & (clusterSize - 1)) != 0 || start >= fileSize) {
      throw new CorruptImageException("bad qcow2: " + file + " snapshot table at 0x" + Long.toHexString(start)
          + " is unaligned or beyond end of file (size " + fileSize + ")");
    }
  }

  /** Returns the padded length of the entry whose fixed part is at {@code at} of {@code b}, checking its sizes. */
  private static long entryLength(ByteBuffer b, int at, int index, String file) throws CorruptImageException {
    long extra = Integer.toUnsignedLong(b.getInt(at + 36));
    if (extra > MAX_EXTRA_DATA) {
      throw new CorruptImageException("bad qcow2: " + file + " snapshot " + index + " has " + extra
          + " bytes of extra data (limit " + MAX_EXTRA_DATA + ")");
    }
    int idLen = Short.toUnsignedInt(b.getShort(at + 12));
    int nameLen = Short.toUnsignedInt(b.getShort(at + 14));
    return (FIXED + extra + idLen + nameLen + 7) & ~7L;
  }

  /**
   * Parses {@code count} entries from {@code buf} (at its position, big-endian). Every size is
   * checked against what the buffer holds before anything is allocated.
   */
  static List<Entry> parse(ByteBuffer buf, int count, String file) throws CorruptImageException {
    if (count < 0 || count > MAX_SNAPSHOTS) {
      throw new CorruptImageException("bad qcow2: " + file + " has " + Integer.toUnsignedString(count)
          + " snapshots (limit " + MAX_SNAPSHOTS + ")");
    }
    ByteBuffer b = buf.slice().order(ByteOrder.BIG_ENDIAN);
    List<Entry> out = new ArrayList<>(Math.min(count, 1024));
    int pos = 0;
    for (int i = 0; i < count; i++) {
      if (b.limit() - pos < FIXED) {
        throw new CorruptImageException("bad qcow2: " + file + " snapshot table entry " + i + " at byte " + pos
            + " is cut off (table of " + b.limit() + " bytes)");
      }
      long len = entryLength(b, pos, i, file);
      if (len > b.limit() - pos) {
        throw new CorruptImageException("bad qcow2: " + file + " snapshot table entry " + i + " of " + len
            + " bytes at byte " + pos + " runs past the table (" + b.limit() + " bytes)");
      }
      long l1Offset = b.getLong(pos);
      int l1Size = b.getInt(pos + 8);
      int idLen = Short.toUnsignedInt(b.getShort(pos + 12));
      int nameLen = Short.toUnsignedInt(b.getShort(pos + 14));
      long dateSec = Integer.toUnsignedLong(b.getInt(pos + 16));
      int dateNsec = b.getInt(pos + 20);
      long vmClock = b.getLong(pos + 24);
      long vmState = Integer.toUnsignedLong(b.getInt(pos + 32));
      int extraLen = b.getInt(pos + 36);
      if (l1Offset < 0 || (l1Offset & 511) != 0) {
        throw new CorruptImageException("bad qcow2: " + file + " snapshot " + i + " L1 table at 0x"
            + Long.toHexString(l1Offset) + " is not a valid offset");
      }
      if (l1Size < 0 || (long) l1Size * 8 > Qcow2L2Cache.MAX_L1_BYTES) {
        throw new CorruptImageException("bad qcow2: " + file + " snapshot " + i + " L1 table of "
            + Integer.toUnsignedString(l1Size) + " entries exceeds " + Qcow2L2Cache.MAX_L1_BYTES + " bytes");
      }
      byte[] extra = new byte[extraLen];
      b.get(pos + FIXED, extra);
      byte[] id = new byte[idLen];
      b.get(pos + FIXED + extraLen, id);
      byte[] name = new byte[nameLen];
      b.get(pos + FIXED + extraLen + idLen, name);
      out.add(new Entry(l1Offset, l1Size, id, name, dateSec, dateNsec, vmClock, vmState, extra));
      pos += (int) len;
    }
    return out;
  }

  /** Encodes {@code entries} as the table is stored (the buffer is flipped, ready to write). */
  static ByteBuffer encode(List<Entry> entries) {
    long total = length(entries);
    if (total > MAX_TABLE_BYTES) {
      throw new IllegalArgumentException("snapshot table of " + total + " bytes exceeds " + MAX_TABLE_BYTES);
    }
    ByteBuffer b = ByteBuffer.allocate((int) total).order(ByteOrder.BIG_ENDIAN);
    for (Entry e : entries) {
      int start = b.position();
      byte[] id = e.idBytes();
      byte[] name = e.nameBytes();
      b.putLong(e.l1TableOffset()).putInt(e.l1Size()).putShort((short) id.length).putShort((short) name.length)
          .putInt((int) e.dateSec()).putInt(e.dateNsec()).putLong(e.vmClockNsec()).putInt((int) e.vmStateSize())
          .putInt(e.extra().length).put(e.extra()).put(id).put(name);
      b.position(start + (int) e.encodedLength());
    }
    return b.flip();
  }
}
