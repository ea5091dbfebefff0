package io.vstore.nbd;

import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A small NBD client speaking the wire protocol directly, for tests that need exact control:
 * malformed headers, pipelined requests, half-sent payloads.
 */
final class TestClient implements Closeable {
  final Socket socket;
  final DataInputStream in;
  final DataOutputStream out;
  boolean structured;
  long size;
  int transmissionFlags;
  /** Context ids chosen by SET_META_CONTEXT, by name. */
  final java.util.Map<String, Integer> contextIds = new java.util.LinkedHashMap<>();

  /** One option reply. */
  record OptionReply(int option, int type, byte[] data) {}

  /** One reply chunk (a simple reply is a chunk of type -1 with the error and data). */
  record Chunk(long cookie, int flags, int type, int error, long offset, byte[] data, String message) {
    boolean done() {
      return type == -1 || (flags & Nbd.REPLY_FLAG_DONE) != 0;
    }
  }

  TestClient(int port) throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(30_000);
    in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
  }

  /** Reads the greeting and answers with fixed newstyle and no zeroes. */
  TestClient greet() throws IOException {
    if (in.readLong() != Nbd.NBDMAGIC || in.readLong() != Nbd.IHAVEOPT) {
      throw new IOException("bad greeting");
    }
    int flags = in.readUnsignedShort();
    if ((flags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
      throw new IOException("not fixed newstyle");
    }
    out.writeInt(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    out.flush();
    return this;
  }

  void sendOption(int option, byte[] data) throws IOException {
    out.writeLong(Nbd.IHAVEOPT);
    out.writeInt(option);
    out.writeInt(data.length);
    out.write(data);
    out.flush();
  }

  OptionReply readOptionReply() throws IOException {
    if (in.readLong() != Nbd.OPTION_REPLY_MAGIC) {
      throw new IOException("bad option reply magic");
    }
    int option = in.readInt();
    int type = in.readInt();
    byte[] data = new byte[in.readInt()];
    in.readFully(data);
    return new OptionReply(option, type, data);
  }

  /** Sends an option and reads replies up to the final one (ACK or error). */
  List<OptionReply> option(int option, byte[] data) throws IOException {
    sendOption(option, data);
    List<OptionReply> replies = new ArrayList<>();
    while (true) {
      OptionReply r = readOptionReply();
      replies.add(r);
      if (r.type() == Nbd.REP_ACK || r.type() < 0) {
        return replies;
      }
    }
  }

  TestClient structuredReplies() throws IOException {
    List<OptionReply> r = option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
    structured = r.getLast().type() == Nbd.REP_ACK;
    return this;
  }

  /** Selects metadata contexts for {@code export}; returns the replies. */
  List<OptionReply> setMetaContext(String export, String... queries) throws IOException {
    List<OptionReply> r = option(Nbd.OPT_SET_META_CONTEXT, metaData(export, queries));
    for (OptionReply x : r) {
      if (x.type() == Nbd.REP_META_CONTEXT) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(x.data());
        int id = b.getInt();
        contextIds.put(new String(x.data(), 4, x.data().length - 4, StandardCharsets.UTF_8), id);
      }
    }
    return r;
  }

  static byte[] metaData(String export, String... queries) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (DataOutputStream d = new DataOutputStream(bytes)) {
      byte[] name = export.getBytes(StandardCharsets.UTF_8);
      d.writeInt(name.length);
      d.write(name);
      d.writeInt(queries.length);
      for (String q : queries) {
        byte[] b = q.getBytes(StandardCharsets.UTF_8);
        d.writeInt(b.length);
        d.write(b);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return bytes.toByteArray();
  }

  static byte[] goData(String export, int... infos) {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (DataOutputStream d = new DataOutputStream(bytes)) {
      byte[] name = export.getBytes(StandardCharsets.UTF_8);
      d.writeInt(name.length);
      d.write(name);
      d.writeShort(infos.length);
      for (int i : infos) {
        d.writeShort(i);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return bytes.toByteArray();
  }

  /** Enters transmission with NBD_OPT_GO; returns the final reply type. */
  int go(String export) throws IOException {
    List<OptionReply> r = option(Nbd.OPT_GO, goData(export, Nbd.INFO_BLOCK_SIZE));
    for (OptionReply x : r) {
      if (x.type() == Nbd.REP_INFO) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(x.data());
        if (b.getShort() == Nbd.INFO_EXPORT) {
          size = b.getLong();
          transmissionFlags = b.getShort() & 0xFFFF;
        }
      }
    }
    return r.getLast().type();
  }

  /** Connects, negotiates structured replies and enters transmission on {@code export}. */
  static TestClient open(int port, String export, boolean structured) throws IOException {
    TestClient c = new TestClient(port).greet();
    if (structured) {
      c.structuredReplies();
    }
    int rep = c.go(export);
    if (rep != Nbd.REP_ACK) {
      c.close();
      throw new IOException("GO " + export + " failed: 0x" + Integer.toHexString(rep));
    }
    return c;
  }

  void send(int type, int flags, long cookie, long offset, long length, byte[] payload) throws IOException {
    out.writeInt(Nbd.REQUEST_MAGIC);
    out.writeShort(flags);
    out.writeShort(type);
    out.writeLong(cookie);
    out.writeLong(offset);
    out.writeInt((int) length);
    if (payload != null) {
      out.write(payload);
    }
    out.flush();
  }

  /**
   * Reads one reply message. {@code readLength} is the length of the read this reply answers when
   * structured replies are off (simple replies carry no length).
   */
  Chunk readChunk(int readLength) throws IOException {
    return readChunk(cookie -> readLength);
  }

  /**
   * Reads one reply message; a simple reply's data length is {@code readLength} of its cookie
   * (for replies to pipelined reads of different lengths).
   */
  Chunk readChunk(java.util.function.LongToIntFunction readLength) throws IOException {
    int magic = in.readInt();
    if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
      int error = in.readInt();
      long cookie = in.readLong();
      byte[] data = new byte[error == 0 ? readLength.applyAsInt(cookie) : 0];
      in.readFully(data);
      return new Chunk(cookie, Nbd.REPLY_FLAG_DONE, -1, error, 0, data, null);
    }
    if (magic != Nbd.STRUCTURED_REPLY_MAGIC) {
      throw new IOException("bad reply magic 0x" + Integer.toHexString(magic));
    }
    int flags = in.readUnsignedShort();
    int type = in.readUnsignedShort();
    long cookie = in.readLong();
    int length = in.readInt();
    switch (type) {
      case Nbd.REPLY_TYPE_NONE -> {
        return new Chunk(cookie, flags, type, 0, 0, new byte[0], null);
      }
      case Nbd.REPLY_TYPE_OFFSET_DATA -> {
        long offset = in.readLong();
        byte[] data = new byte[length - 8];
        in.readFully(data);
        return new Chunk(cookie, flags, type, 0, offset, data, null);
      }
      case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
        long offset = in.readLong();
        int hole = in.readInt();
        return new Chunk(cookie, flags, type, 0, offset, new byte[hole], null);
      }
      case Nbd.REPLY_TYPE_BLOCK_STATUS -> {
        byte[] data = new byte[length];
        in.readFully(data);
        return new Chunk(cookie, flags, type, 0, 0, data, null);
      }
      case Nbd.REPLY_TYPE_ERROR -> {
        int error = in.readInt();
        int n = in.readUnsignedShort();
        byte[] msg = new byte[n];
        in.readFully(msg);
        in.skipNBytes(length - 6 - n);
        return new Chunk(cookie, flags, type, error, 0, new byte[0], new String(msg, StandardCharsets.UTF_8));
      }
      default -> throw new IOException("unexpected chunk type " + type);
    }
  }

  /** The assembled answer to one request. */
  record Reply(int error, byte[] data, List<Chunk> chunks) {}

  /** Reads every chunk of the reply to {@code cookie} (requests sent one at a time). */
  Reply readReply(long cookie, int readLength) throws IOException {
    List<Chunk> chunks = new ArrayList<>();
    byte[] data = new byte[readLength];
    int error = 0;
    while (true) {
      Chunk c = readChunk(readLength);
      if (c.cookie() != cookie) {
        throw new IOException("reply for cookie " + c.cookie() + " while waiting for " + cookie);
      }
      chunks.add(c);
      if (c.error() != 0) {
        error = c.error();
      }
      if (c.type() == -1) {
        return new Reply(c.error(), c.data(), chunks);
      }
      if (c.done()) {
        return new Reply(error, data, chunks);
      }
    }
  }

  /** Reads {@code length} bytes at {@code offset}, reassembling structured chunks. */
  Reply read(long cookie, long offset, int length, int flags) throws IOException {
    send(Nbd.CMD_READ, flags, cookie, offset, length, null);
    Reply r = readReply(cookie, length);
    if (structured && r.error() == 0) {
      byte[] data = new byte[length];
      long covered = 0;
      for (Chunk c : r.chunks()) {
        if (c.type() == Nbd.REPLY_TYPE_OFFSET_DATA || c.type() == Nbd.REPLY_TYPE_OFFSET_HOLE) {
          System.arraycopy(c.data(), 0, data, (int) (c.offset() - offset), c.data().length);
          covered += c.data().length;
        }
      }
      if (covered != length) {
        throw new IOException("read chunks cover " + covered + " of " + length + " bytes");
      }
      return new Reply(0, data, r.chunks());
    }
    return r;
  }

  /** Sends a command without payload in the reply and returns its error (0 for success). */
  int command(int type, int flags, long cookie, long offset, long length, byte[] payload) throws IOException {
    send(type, flags, cookie, offset, length, payload);
    return readReply(cookie, 0).error();
  }

  /** Returns whether the server closed the connection (reads EOF within the socket timeout). */
  boolean closedByServer() {
    try {
      return in.read() < 0;
    } catch (EOFException e) {
      return true;
    } catch (IOException e) {
      return e.getMessage() != null && e.getMessage().contains("reset");
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
