package io.vstore.backup.engine;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A minimal NBD client (fixed newstyle, NBD_OPT_EXPORT_NAME, simple replies) that writes and flushes,
 * standing in for a guest writing to its disk while a backup runs. One request at a time.
 */
final class NbdWriter implements Closeable {
  private static final long NBDMAGIC = 0x4e42444d41474943L;
  private static final long IHAVEOPT = 0x49484156454F5054L;
  private static final int REQUEST_MAGIC = 0x25609513;
  private static final int REPLY_MAGIC = 0x67446698;
  private static final short CMD_WRITE = 1;
  private static final short CMD_DISC = 2;
  private static final short CMD_FLUSH = 3;

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;
  private final long size;
  private long cookie;

  NbdWriter(int port, String export) throws IOException {
    socket = new Socket(InetAddress.getLoopbackAddress(), port);
    socket.setSoTimeout(60_000);
    in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    if (in.readLong() != NBDMAGIC || in.readLong() != IHAVEOPT) {
      throw new IOException("not an NBD newstyle server");
    }
    in.readUnsignedShort(); // handshake flags
    out.writeInt(1 | 2); // fixed newstyle, no zeroes
    byte[] name = export.getBytes(StandardCharsets.UTF_8);
    out.writeLong(IHAVEOPT);
    out.writeInt(1); // NBD_OPT_EXPORT_NAME
    out.writeInt(name.length);
    out.write(name);
    out.flush();
    size = in.readLong();
    in.readUnsignedShort(); // transmission flags
  }

  long size() {
    return size;
  }

  /** Writes {@code data} at {@code offset} and waits for the reply. */
  void write(long offset, byte[] data) throws IOException {
    request(CMD_WRITE, offset, data.length);
    out.write(data);
    out.flush();
    reply();
  }

  /** Flushes the export and waits for the reply. */
  void flush() throws IOException {
    request(CMD_FLUSH, 0, 0);
    out.flush();
    reply();
  }

  private void request(short type, long offset, int length) throws IOException {
    out.writeInt(REQUEST_MAGIC);
    out.writeShort(0);
    out.writeShort(type);
    out.writeLong(++cookie);
    out.writeLong(offset);
    out.writeInt(length);
  }

  private void reply() throws IOException {
    if (in.readInt() != REPLY_MAGIC) {
      throw new IOException("bad NBD reply magic");
    }
    int error = in.readInt();
    long c = in.readLong();
    if (c != cookie || error != 0) {
      throw new IOException("NBD request " + cookie + " failed: error " + error + " (reply to " + c + ")");
    }
  }

  @Override
  public void close() throws IOException {
    try {
      request(CMD_DISC, 0, 0);
      out.flush();
    } finally {
      socket.close();
    }
  }
}
