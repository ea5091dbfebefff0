package io.vstore.engine.move;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The verification pass after a switch-over: the source as it was at the switch (a snapshot of it,
 * since its head handles forward to the destination by then) compared with the destination per
 * 1 MiB region by CRC32C, skipping regions both read as zeros and regions clients changed on the
 * destination since the switch (asked of the change log once before reading, and once more at the
 * end for the regions whose checksums differed, so the cost stays proportional to the changes).
 */
final class MoveVerification {
  /** The source snapshot the verification reads. */
  static final String VERIFY_SNAPSHOT = "vstore-move-verify";
  private static final int REGION = Mirror.REGION;

  private MoveVerification() {}

  /**
   * Compares both sides of the move {@code record} describes; returns the bytes compared, the
   * bytes skipped as changed since the switch, and the bytes of data the source held at the switch.
   *
   * @throws CorruptDataException naming the first region that differs (the source is then kept)
   */
  static long[] run(Datastore source, Datastore destination, String volume, Volume destHead, MoveRecord record,
      VolumeMove.Listener progress) throws IOException {
    if (!source.hasVolume(volume)) {
      return new long[] {0, 0, 0}; // deleted after verification, before the record went
    }
    boolean hasSnapshot = source.snapshots(volume).stream().map(SnapshotInfo::name)
        .anyMatch(VERIFY_SNAPSHOT::equals);
    if (!hasSnapshot) {
      source.createSnapshot(volume, VERIFY_SNAPSHOT);
    }
    long size = record.size();
    long compared = 0;
    long skipped = 0;
    long data = 0;
    // What clients changed since the switch, asked once for the whole volume: the change log answers
    // a range by collecting every change since the switch, so a question per region would cost
    // O(regions x changes) while clients keep writing.
    BitSet changed = changedSinceSwitch(destination, volume, record);
    BitSet differing = new BitSet();
    ByteBuffer a = ByteBuffer.allocateDirect(REGION);
    ByteBuffer b = ByteBuffer.allocateDirect(REGION);
    try (Volume old = source.volume(volume + "@" + VERIFY_SNAPSHOT, true)) {
      for (long start = 0; start < size; start += REGION) {
        progress.progress(start, size);
        long length = Math.min(REGION, size - start);
        List<Extent> atSwitch = old.allocation(start, length);
        for (Extent e : atSwitch) {
          if (e.kind() == Extent.Kind.DATA) {
            data += e.length();
          }
        }
        int region = (int) (start / REGION);
        if (changed.get(region)) {
          skipped += length;
          continue;
        }
        boolean zeros = RegionCopy.firstOf(atSwitch, true, -1) < 0
            && RegionCopy.firstOf(destHead.allocation(start, length), true, -1) < 0;
        if (zeros) {
          continue; // both read zeros there
        }
        long before = crc(old, start, length, a);
        long after = crc(destHead, start, length, b);
        if (before != after) {
          differing.set(region); // a client may have written there since the changes were asked: decided below
          continue;
        }
        compared += length;
      }
    }
    if (!differing.isEmpty()) {
      // Asked after every read above: a region that differed and is still not among the changes was
      // read unchanged since the switch (the source side is a snapshot), so the copy is wrong there.
      BitSet now = changedSinceSwitch(destination, volume, record);
      for (int r = differing.nextSetBit(0); r >= 0; r = differing.nextSetBit(r + 1)) {
        long start = (long) r * REGION;
        if (!now.get(r)) {
          throw new CorruptDataException("verification of the move of " + volume + " failed: the 1 MiB region at "
              + start + " differs between " + source.path() + " and " + destination.path()
              + " (CRC32C compared); the source volume is kept");
        }
        skipped += Math.min(REGION, size - start);
      }
    }
    progress.progress(size, size);
    return new long[] {compared, skipped, data};
  }

  /** Returns the regions of the destination's volume that changed since the switch-over. */
  private static BitSet changedSinceSwitch(Datastore destination, String volume, MoveRecord record) throws IOException {
    BitSet out = new BitSet();
    for (Extent e : destination.changedAreas(volume, record.switchChangeId(), 0, record.size()).extents()) {
      if (e.length() > 0) {
        out.set((int) (e.offset() / REGION), (int) ((e.end() - 1) / REGION) + 1);
      }
    }
    return out;
  }

  /** Returns the CRC32C of {@code length} bytes of {@code v} at {@code offset}, read into {@code buffer}. */
  static long crc(Volume v, long offset, long length, ByteBuffer buffer) throws IOException {
    ByteBuffer b = buffer.clear().limit((int) length);
    v.read(offset, b);
    CRC32C c = new CRC32C();
    c.update(b.flip());
    return c.getValue();
  }
}
