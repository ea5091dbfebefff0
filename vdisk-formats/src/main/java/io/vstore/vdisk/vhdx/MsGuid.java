package io.vstore.vdisk.vhdx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * GUIDs as VHDX stores them: Microsoft's mixed-endian layout, Data1 (u32), Data2 and Data3 (u16)
 * little-endian, then Data4's eight bytes as they are. Converted to and from {@link UUID}, whose
 * text form matches the GUID's usual text form.
 */
final class MsGuid {
  private MsGuid() {}

  /** Size of a stored GUID in bytes. */
  static final int SIZE = 16;

  /** The all-zero GUID ("no log", "no parent"). */
  static final UUID ZERO = new UUID(0, 0);

  /** Reads a GUID at absolute position {@code at} of {@code buf}. */
  static UUID read(ByteBuffer buf, int at) {
    ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    long d1 = Integer.toUnsignedLong(b.getInt(at));
    long d2 = Short.toUnsignedLong(b.getShort(at + 4));
    long d3 = Short.toUnsignedLong(b.getShort(at + 6));
    long d4 = b.order(ByteOrder.BIG_ENDIAN).getLong(at + 8);
    return new UUID(d1 << 32 | d2 << 16 | d3, d4);
  }

  /** Writes {@code guid} at absolute position {@code at} of {@code buf}. */
  static void write(ByteBuffer buf, int at, UUID guid) {
    ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    long msb = guid.getMostSignificantBits();
    b.putInt(at, (int) (msb >>> 32));
    b.putShort(at + 4, (short) (msb >>> 16));
    b.putShort(at + 6, (short) msb);
    b.order(ByteOrder.BIG_ENDIAN).putLong(at + 8, guid.getLeastSignificantBits());
  }
}
