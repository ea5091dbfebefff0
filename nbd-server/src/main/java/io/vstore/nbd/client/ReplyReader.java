package io.vstore.nbd.client;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.nbd.Nbd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads replies on the transmission phase's one reader thread and applies them to their requests.
 * Each length and offset is checked against the request before a byte is stored.
 */
final class ReplyReader {
  /** Largest structured chunk that is not read data (block status, errors). */
  private static final int MAX_CHUNK = 16 << 20;

  /** A reply header; for a simple reply {@code flags}, {@code type} and {@code length} are 0. */
  record Header(boolean structured, int error, long handle, int flags, int type, long length) {}

  /** A reply that breaks the protocol; the connection cannot continue. */
  static final class ProtocolError extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolError(String message) {
      super(message);
    }
  }

  private final Connection connection;
  private final NbdAddress address;
  private final int allocationContext;
  private final ByteBuffer head = ByteBuffer.allocate(32);

  ReplyReader(Connection connection, NbdAddress address, int allocationContext) {
    this.connection = connection;
    this.address = address;
    this.allocationContext = allocationContext;
  }

  /** Reads the next reply header. */
  Header next() throws IOException {
    head.clear().limit(4);
    connection.readFully(head);
    int magic = head.getInt(0);
    if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
      head.limit(16);
      connection.readFully(head);
      return new Header(false, head.getInt(4), head.getLong(8), 0, 0, 0);
    }
    if (magic == Nbd.STRUCTURED_REPLY_MAGIC) {
      head.limit(20);
      connection.readFully(head);
      return new Header(true, 0, head.getLong(8), Short.toUnsignedInt(head.getShort(4)),
          Short.toUnsignedInt(head.getShort(6)), Integer.toUnsignedLong(head.getInt(16)));
    }
    throw bad("reply magic 0x" + Integer.toHexString(magic));
  }

  /** Applies a simple reply: a read's data follows it when there is no error. */
  void simple(Header h, PendingRequest r) throws IOException {
    if (h.error() != 0) {
      r.error = error(r, h.error(), "");
    } else if (r.command == Nbd.CMD_READ) {
      connection.readFully(r.dst.duplicate());
      r.covered = r.length;
    }
  }

  /** Applies a structured chunk; returns whether it was the request's last. */
  boolean chunk(Header h, PendingRequest r) throws IOException {
    long len = h.length();
    switch (h.type()) {
      case Nbd.REPLY_TYPE_NONE -> {
        if (len != 0 || (h.flags() & Nbd.REPLY_FLAG_DONE) == 0) {
          throw bad("NONE chunk of " + len + " bytes or without DONE for " + r.describe());
        }
      }
      case Nbd.REPLY_TYPE_OFFSET_DATA -> {
        if (r.command != Nbd.CMD_READ || len < 8 || len - 8 > r.length) {
          throw bad("data chunk of " + len + " bytes for " + r.describe());
        }
        long at = readLong();
        long n = len - 8;
        if (at < r.offset || at + n > r.offset + r.length) {
          throw bad("data chunk at " + at + " of " + n + " bytes outside " + r.describe());
        }
        connection.readFully(r.dst.slice((int) (at - r.offset), (int) n));
        r.covered += n;
      }
      case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
        if (r.command != Nbd.CMD_READ || len != 12) {
          throw bad("hole chunk of " + len + " bytes for " + r.describe());
        }
        long at = readLong();
        long n = Integer.toUnsignedLong(readInt());
        if (n == 0 || at < r.offset || at + n > r.offset + r.length) {
          throw bad("hole at " + at + " of " + n + " bytes outside " + r.describe());
        }
        ByteBuffer d = r.dst.slice((int) (at - r.offset), (int) n);
        while (d.hasRemaining()) {
          d.put((byte) 0);
        }
        r.covered += n;
      }
      case Nbd.REPLY_TYPE_BLOCK_STATUS -> {
        if (r.command != Nbd.CMD_BLOCK_STATUS || len < 12 || (len - 4) % 8 != 0 || len > MAX_CHUNK) {
          throw bad("block status chunk of " + len + " bytes for " + r.describe());
        }
        int context = readInt();
        int count = (int) ((len - 4) / 8);
        ByteBuffer b = ByteBuffer.allocate(count * 8);
        connection.readFully(b);
        if (context == allocationContext && r.extents == null) {
          r.extents = extents(b.flip(), count, r);
        }
      }
      case Nbd.REPLY_TYPE_ERROR, Nbd.REPLY_TYPE_ERROR_OFFSET -> {
        if (len < 6 || len > Wire.MAX_OPTION_REPLY) {
          throw bad("error chunk of " + len + " bytes for " + r.describe());
        }
        int error = readInt();
        int msgLen = Short.toUnsignedInt(readShort());
        long rest = len - 6 - msgLen;
        if (rest < 0 || (h.type() == Nbd.REPLY_TYPE_ERROR_OFFSET && rest != 8)) {
          throw bad("error chunk message of " + msgLen + " bytes in a chunk of " + len);
        }
        ByteBuffer m = ByteBuffer.allocate(msgLen);
        connection.readFully(m);
        connection.skip(rest);
        if (error == 0) {
          throw bad("error chunk with error 0 for " + r.describe());
        }
        if (r.error == null) {
          r.error = error(r, error, new String(m.array(), StandardCharsets.UTF_8));
        }
      }
      default -> {
        if ((h.type() & (1 << 15)) == 0) {
          throw bad("unknown chunk type " + h.type() + " for " + r.describe());
        }
        // An unknown error type: the protocol promises a leading error value; honour it.
        if (len < 4 || len > Wire.MAX_OPTION_REPLY) {
          throw bad("error chunk of " + len + " bytes for " + r.describe());
        }
        int error = readInt();
        connection.skip(len - 4);
        if (r.error == null) {
          r.error = error(r, error == 0 ? 5 : error, "chunk type " + h.type());
        }
      }
    }
    boolean last = (h.flags() & Nbd.REPLY_FLAG_DONE) != 0;
    if (last && r.error == null && r.command == Nbd.CMD_READ && r.covered != r.length) {
      throw bad(r.describe() + " answered with " + r.covered + " bytes");
    }
    return last;
  }

  private List<Extent> extents(ByteBuffer b, int count, PendingRequest r) throws ProtocolError {
    List<Extent> out = new ArrayList<>(count);
    long pos = r.offset;
    for (int i = 0; i < count; i++) {
      long n = Integer.toUnsignedLong(b.getInt());
      int flags = b.getInt();
      if (n == 0) {
        throw bad("block status extent of 0 bytes for " + r.describe());
      }
      // A hole that does not promise zeros may hold anything: call it data.
      Extent.Kind kind = (flags & Nbd.STATE_ZERO) == 0 ? Extent.Kind.DATA
          : (flags & Nbd.STATE_HOLE) != 0 ? Extent.Kind.HOLE : Extent.Kind.ZERO;
      out.add(new Extent(pos, n, kind));
      pos += n;
    }
    return out;
  }

  /** Makes the exception for error value {@code error} on request {@code r}. */
  IOException error(PendingRequest r, int error, String message) {
    String text = address + ": " + r.describe() + " failed: " + Nbd.errorName(error)
        + (message.isEmpty() ? "" : " (" + message + ")");
    if (error == Nbd.EPERM && r.command != Nbd.CMD_READ) {
      return new ReadOnlyDeviceException(text);
    }
    if (error == Nbd.ENOSPC) {
      return new OutOfSpaceException(text);
    }
    return new NbdRequestException(text, error);
  }

  private ProtocolError bad(String what) {
    return new ProtocolError("bad NBD reply from " + address + ": " + what);
  }

  private long readLong() throws IOException {
    head.clear().limit(8);
    connection.readFully(head);
    return head.getLong(0);
  }

  private int readInt() throws IOException {
    head.clear().limit(4);
    connection.readFully(head);
    return head.getInt(0);
  }

  private short readShort() throws IOException {
    head.clear().limit(2);
    connection.readFully(head);
    return head.getShort(0);
  }
}
