package io.vstore.vdisk.qcow2;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.vdisk.CorruptImageException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Feeds arbitrary bytes to the qcow2 snapshot table parser: the first two bytes are the entry
 * count, the rest the table. Only {@link CorruptImageException} may come out; a table that parses
 * must encode to bytes that parse to the same entries (ids, names, sizes, extra data), and the
 * encoding must be exactly as long as {@link Qcow2SnapshotTable#length} says. Anything else is a
 * finding.
 */
class Qcow2SnapshotTableFuzzTest {

  @FuzzTest(maxDuration = "30s")
  void parseAndEncode(byte[] data) throws Exception {
    if (data.length < 2) {
      return;
    }
    int count = ((data[0] & 0xff) << 8) | (data[1] & 0xff);
    List<Qcow2SnapshotTable.Entry> entries;
    try {
      entries = Qcow2SnapshotTable.parse(ByteBuffer.wrap(data, 2, data.length - 2), count, "fuzz");
    } catch (CorruptImageException expected) {
      return; // a clear error is the right answer to a malformed table
    }
    if (entries.size() != count) {
      throw new AssertionError("parsed " + entries.size() + " entries of " + count);
    }
    ByteBuffer encoded = Qcow2SnapshotTable.encode(entries);
    if (encoded.remaining() != Qcow2SnapshotTable.length(entries)) {
      throw new AssertionError("encoded " + encoded.remaining() + " bytes, length() says "
          + Qcow2SnapshotTable.length(entries));
    }
    List<Qcow2SnapshotTable.Entry> again = Qcow2SnapshotTable.parse(encoded, count, "fuzz re-encoded");
    for (int i = 0; i < count; i++) {
      Qcow2SnapshotTable.Entry a = entries.get(i);
      Qcow2SnapshotTable.Entry b = again.get(i);
      boolean same = a.l1TableOffset() == b.l1TableOffset() && a.l1Size() == b.l1Size()
          && a.dateSec() == b.dateSec() && a.dateNsec() == b.dateNsec() && a.vmClockNsec() == b.vmClockNsec()
          && a.vmStateSize() == b.vmStateSize() && java.util.Arrays.equals(a.extra(), b.extra())
          && a.diskSize() == b.diskSize() && a.icount() == b.icount()
          // Ids and names are kept as bytes, valid UTF-8 or not, so they survive unchanged.
          && java.util.Arrays.equals(a.idBytes(), b.idBytes()) && java.util.Arrays.equals(a.nameBytes(), b.nameBytes());
      if (!same) {
        throw new AssertionError("entry " + i + " changed in an encode/parse round trip: " + a + " -> " + b);
      }
    }
  }
}
