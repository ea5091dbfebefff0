package io.vstore.vdisk.vmdk;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Recognises the header of a VMFSSPARSE ("COWD") extent, which this package does not read. */
final class CowdHeader {
  /** "COWD" read as a little-endian u32. */
  static final int MAGIC = 0x44574f43;

  private CowdHeader() {}

  /** Returns whether the first four bytes of {@code b} (little-endian) are the COWD magic. */
  static boolean hasMagic(ByteBuffer b) {
    return b.remaining() >= 4 && b.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt() == MAGIC;
  }
}
