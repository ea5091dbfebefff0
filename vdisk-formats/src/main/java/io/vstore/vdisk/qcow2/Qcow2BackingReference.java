package io.vstore.vdisk.qcow2;

import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Rewrites the backing file reference of a qcow2 image: the name after the header extensions and
 * the backing format extension, as {@code qemu-img rebase} does once the data is right. The first
 * cluster is rebuilt as fixed header, the extensions (all others kept in their order, the backing
 * format first), the end marker, then the name; it must fit in that cluster, as in QEMU.
 */
final class Qcow2BackingReference {
  /** QEMU's limit on the backing file name (1023 bytes). */
  static final int MAX_NAME_BYTES = 1023;

  private Qcow2BackingReference() {}

  /** One header extension as stored: type and data (without padding). */
  private record Extension(int type, byte[] data) {}

  static void rewrite(Path path, String backingName, String backingFormat, ChannelOpener channels) throws IOException {
    String file = path.toString();
    byte[] name = backingName == null ? new byte[0] : backingName.getBytes(StandardCharsets.UTF_8);
    if (backingName != null && (name.length == 0 || name.length > MAX_NAME_BYTES)) {
      throw new IllegalArgumentException("backing file name must have 1 to " + MAX_NAME_BYTES + " bytes: '"
          + backingName + "'");
    }
    try (FileChannel ch = channels.open(path, Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE))) {
      long fileSize = ch.size();
      ByteBuffer head = ByteBuffer.allocate((int) Math.min(fileSize, Qcow2Header.V3_LENGTH));
      Qcow2Io.readFully(ch, 0, head, file, "header");
      Qcow2Header h = Qcow2Header.read(head.flip(), file);
      if ((h.incompatibleFeatures() & (Qcow2Header.INCOMPAT_CORRUPT | Qcow2Header.INCOMPAT_DIRTY)) != 0) {
        throw new UnsupportedFormatException("unsupported qcow2: " + file
            + " is marked corrupt or dirty; check and repair it first (qemu-img check -r all)");
      }
      int cs = h.clusterSize();
      ByteBuffer first = ByteBuffer.allocate((int) Math.min(fileSize, cs));
      Qcow2Io.readFully(ch, 0, first, file, "first cluster");
      List<Extension> kept = new ArrayList<>();
      if (backingName != null && backingFormat != null) {
        kept.add(new Extension(Qcow2Extensions.EXT_BACKING_FORMAT, backingFormat.getBytes(StandardCharsets.UTF_8)));
      }
      for (Extension e : extensions(h, first.flip(), file)) {
        if (e.type() != Qcow2Extensions.EXT_BACKING_FORMAT) {
          kept.add(e);
        }
      }
      ByteBuffer out = ByteBuffer.allocate(cs).order(ByteOrder.BIG_ENDIAN);
      out.position(h.encodedLength());
      for (Extension e : kept) {
        int padded = (e.data().length + 7) & ~7;
        if (out.remaining() < 8 + padded) {
          throw tooLarge(file, cs);
        }
        out.putInt(e.type()).putInt(e.data().length).put(e.data());
        out.position(out.position() + padded - e.data().length);
      }
      if (out.remaining() < 8 + name.length) {
        throw tooLarge(file, cs);
      }
      out.putInt(Qcow2Extensions.EXT_END).putInt(0);
      long nameOffset = backingName == null ? 0 : out.position();
      out.put(name);
      Qcow2Header nh = h.withBackingName(nameOffset, name.length);
      ByteBuffer fixed = ByteBuffer.allocate(nh.encodedLength());
      nh.write(fixed);
      out.put(0, fixed.array());
      out.position(0).limit(cs);
      Qcow2Io.writeFully(ch, 0, out);
      ch.force(false);
    }
  }

  private static UnsupportedFormatException tooLarge(String file, int cs) {
    return new UnsupportedFormatException("unsupported qcow2: " + file + " header extensions and backing file name do"
        + " not fit in the first cluster (" + cs + " bytes)");
  }

  /** Returns the header extensions of the first cluster {@code first}, up to the end marker. */
  private static List<Extension> extensions(Qcow2Header h, ByteBuffer first, String file)
      throws CorruptImageException {
    ByteBuffer b = first.duplicate().order(ByteOrder.BIG_ENDIAN);
    int limit = b.limit();
    // The backing file name (if any) usually follows the extensions; never read into it.
    if (h.backingFileOffset() > 0 && h.backingFileOffset() < limit) {
      limit = (int) h.backingFileOffset();
    }
    List<Extension> out = new ArrayList<>();
    int pos = h.encodedLength();
    while (pos + 8 <= limit) {
      int type = b.getInt(pos);
      int len = b.getInt(pos + 4);
      if (type == Qcow2Extensions.EXT_END) {
        break;
      }
      if (len < 0 || len > limit - pos - 8) {
        throw new CorruptImageException("bad qcow2: " + file + " header extension 0x" + Integer.toHexString(type)
            + " at " + pos + " length " + Integer.toUnsignedString(len) + " runs past the first cluster");
      }
      byte[] data = new byte[len];
      b.get(pos + 8, data);
      out.add(new Extension(type, data));
      pos += 8 + ((len + 7) & ~7);
    }
    return out;
  }
}
