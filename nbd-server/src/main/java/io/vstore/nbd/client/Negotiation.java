package io.vstore.nbd.client;

import io.vstore.nbd.Nbd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import javax.net.ssl.SSLContext;

/** The client side of fixed-newstyle negotiation: STARTTLS, structured replies, base:allocation, GO. */
final class Negotiation {
  private Negotiation() {}

  /** What the server agreed to. */
  record Result(long size, int transmissionFlags, int maxPayload, boolean structured, int allocationContext) {}

  private record Reply(int option, int type, ByteBuffer data) {
    boolean isError() {
      return (type & Nbd.REP_ERR_BIT) != 0;
    }
  }

  static Result run(Connection c, NbdAddress address, NbdBlockDevice.Options options) throws IOException {
    c.setReadTimeout(options.connectTimeout());
    ByteBuffer greeting = ByteBuffer.allocate(18);
    c.readFully(greeting);
    if (greeting.getLong(0) != Nbd.NBDMAGIC) {
      throw new IOException("not an NBD server: " + address + " sent no NBDMAGIC greeting");
    }
    if (greeting.getLong(8) != Nbd.IHAVEOPT) {
      throw new IOException("unsupported NBD server: " + address + " speaks oldstyle negotiation");
    }
    int serverFlags = Short.toUnsignedInt(greeting.getShort(16));
    if ((serverFlags & Nbd.FLAG_FIXED_NEWSTYLE) == 0) {
      throw new IOException("unsupported NBD server: " + address + " does not speak fixed newstyle negotiation");
    }
    boolean noZeroes = (serverFlags & Nbd.FLAG_NO_ZEROES) != 0;
    c.write(ByteBuffer.allocate(4).putInt(Nbd.FLAG_FIXED_NEWSTYLE | (noZeroes ? Nbd.FLAG_NO_ZEROES : 0)).flip());

    SSLContext tls = options.tls();
    if (tls == null && address.tls()) {
      try {
        tls = SSLContext.getDefault();
      } catch (NoSuchAlgorithmException e) {
        throw new IOException("cannot start TLS to " + address + ": " + e.getMessage(), e);
      }
    }
    if (tls != null) {
      Reply r = option(c, address, Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
      if (r.type() != Nbd.REP_ACK) {
        throw new IOException("NBD server " + address + " refused STARTTLS: " + message(r));
      }
      c.startTls(tls);
      c.setReadTimeout(options.connectTimeout());
    }

    boolean structured = false;
    int allocationContext = -1;
    if (options.structuredReplies()) {
      Reply r = option(c, address, Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
      structured = r.type() == Nbd.REP_ACK;
      if (structured) {
        allocationContext = allocationContext(c, address);
      }
    }

    byte[] name = address.export().getBytes(StandardCharsets.UTF_8);
    ByteBuffer go = ByteBuffer.allocate(4 + name.length + 2 + 2).putInt(name.length).put(name)
        .putShort((short) 1).putShort((short) Nbd.INFO_BLOCK_SIZE).flip();
    send(c, Nbd.OPT_GO, go);
    long size = -1;
    int flags = 0;
    int maxPayload = Nbd.MAX_PAYLOAD;
    while (true) {
      Reply r = reply(c, address, Nbd.OPT_GO);
      if (r.isError()) {
        throw new IOException("NBD server " + address + " refused export '" + address.export() + "': " + message(r));
      }
      if (r.type() == Nbd.REP_ACK) {
        break;
      }
      if (r.type() != Nbd.REP_INFO || r.data().remaining() < 2) {
        continue; // other replies are allowed and carry nothing the client needs
      }
      ByteBuffer d = r.data();
      int info = Short.toUnsignedInt(d.getShort());
      if (info == Nbd.INFO_EXPORT) {
        if (d.remaining() != 10) {
          throw new IOException("bad NBD server: " + address + " sent an export info of " + (d.remaining() + 2) + " bytes");
        }
        size = d.getLong();
        flags = Short.toUnsignedInt(d.getShort());
      } else if (info == Nbd.INFO_BLOCK_SIZE && d.remaining() == 12) {
        d.getInt();
        d.getInt();
        long max = Integer.toUnsignedLong(d.getInt());
        if (max < 512) {
          throw new IOException("bad NBD server: " + address + " advertises a maximum block size of " + max);
        }
        maxPayload = (int) Math.min(max, Nbd.MAX_PAYLOAD);
      }
    }
    if (size < 0) {
      throw new IOException("bad NBD server: " + address + " finished GO without sending the export's size");
    }
    c.setReadTimeout(Duration.ZERO);
    return new Result(size, flags, maxPayload, structured, allocationContext);
  }

  /** Selects base:allocation; returns its id, or -1 when the server has none. */
  private static int allocationContext(Connection c, NbdAddress address) throws IOException {
    byte[] name = address.export().getBytes(StandardCharsets.UTF_8);
    byte[] query = "base:allocation".getBytes(StandardCharsets.UTF_8);
    ByteBuffer data = ByteBuffer.allocate(4 + name.length + 4 + 4 + query.length)
        .putInt(name.length).put(name).putInt(1).putInt(query.length).put(query).flip();
    send(c, Nbd.OPT_SET_META_CONTEXT, data);
    int id = -1;
    while (true) {
      Reply r = reply(c, address, Nbd.OPT_SET_META_CONTEXT);
      if (r.type() == Nbd.REP_ACK || r.isError()) {
        return r.isError() ? -1 : id;
      }
      if (r.type() == Nbd.REP_META_CONTEXT && r.data().remaining() >= 4) {
        int candidate = r.data().getInt();
        byte[] n = new byte[r.data().remaining()];
        r.data().get(n);
        if (new String(n, StandardCharsets.UTF_8).equals("base:allocation")) {
          id = candidate;
        }
      }
    }
  }

  private static Reply option(Connection c, NbdAddress address, int option, ByteBuffer data) throws IOException {
    send(c, option, data);
    return reply(c, address, option);
  }

  private static void send(Connection c, int option, ByteBuffer data) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(16).putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.remaining()).flip();
    c.write(h, data);
  }

  private static Reply reply(Connection c, NbdAddress address, int option) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(20);
    c.readFully(h);
    if (h.getLong(0) != Nbd.OPTION_REPLY_MAGIC) {
      throw new IOException("bad NBD server: " + address + " sent an option reply without its magic");
    }
    int answered = h.getInt(8);
    int type = h.getInt(12);
    long len = Integer.toUnsignedLong(h.getInt(16));
    if (answered != option) {
      throw new IOException("bad NBD server: " + address + " answered option " + answered + " when asked " + option);
    }
    if (len > Wire.MAX_OPTION_REPLY) {
      throw new IOException("bad NBD server: " + address + " sent an option reply of " + len + " bytes (at most "
          + Wire.MAX_OPTION_REPLY + ")");
    }
    ByteBuffer data = ByteBuffer.allocate((int) len);
    c.readFully(data);
    return new Reply(answered, type, data.flip());
  }

  private static String message(Reply r) {
    String text = StandardCharsets.UTF_8.decode(r.data().duplicate()).toString();
    String kind = switch (r.type()) {
      case Nbd.REP_ERR_BIT + 1 -> "unsupported";
      case Nbd.REP_ERR_BIT + 2 -> "refused by policy";
      case Nbd.REP_ERR_BIT + 3 -> "invalid";
      case Nbd.REP_ERR_BIT + 5 -> "TLS required";
      case Nbd.REP_ERR_BIT + 6 -> "no such export";
      case Nbd.REP_ERR_BIT + 7 -> "server shutting down";
      default -> "reply type " + Integer.toUnsignedString(r.type());
    };
    return text.isEmpty() ? kind : kind + ": " + text;
  }
}
