package io.vstore.nbd;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A connection's byte stream: plain TCP through a blocking {@link SocketChannel} (direct buffers go
 * straight to the socket), or TLS through an {@link SSLSocket} layered on it after STARTTLS.
 * Reads come from one thread; writes are serialized by the caller.
 */
interface Transport extends Closeable {

  /** Fills {@code dst} completely; throws {@link EOFException} if the peer closes first. */
  void readFully(ByteBuffer dst) throws IOException;

  /** Writes every remaining byte of {@code srcs}. */
  void write(ByteBuffer... srcs) throws IOException;

  /** Stops reading so a blocked {@link #readFully} returns; replies can still be written. */
  void shutdownInput();

  /** Returns whether the stream is encrypted. */
  boolean isTls();

  /** Performs the server side of a TLS 1.3 handshake and returns the encrypted stream. */
  Transport startTls(SSLContext context) throws IOException;

  /** The plain TCP stream. */
  final class Plain implements Transport {
    private final SocketChannel channel;
    /**
     * Bytes received and not yet consumed (read mode). A client with many requests in flight
     * sends them back to back: one receive then serves many 28-byte request headers.
     */
    private final ByteBuffer in = ByteBuffer.allocateDirect(64 << 10).flip();

    Plain(SocketChannel channel) {
      this.channel = channel;
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
      while (dst.hasRemaining()) {
        if (in.hasRemaining()) {
          int n = Math.min(in.remaining(), dst.remaining());
          dst.put(in.slice(in.position(), n));
          in.position(in.position() + n);
        } else if (dst.remaining() >= in.capacity()) {
          if (channel.read(dst) < 0) { // a large payload goes straight to its buffer
            throw new EOFException("connection closed by the client");
          }
        } else {
          in.clear();
          int n = channel.read(in);
          in.flip();
          if (n < 0) {
            throw new EOFException("connection closed by the client");
          }
        }
      }
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
      ByteBuffer last = srcs[srcs.length - 1];
      do {
        channel.write(srcs);
      } while (last.hasRemaining() || anyRemaining(srcs));
    }

    @Override
    public void shutdownInput() {
      try {
        channel.shutdownInput();
      } catch (IOException ignored) {
        // Already closed: nothing left to stop.
      }
    }

    @Override
    public boolean isTls() {
      return false;
    }

    @Override
    public Transport startTls(SSLContext context) throws IOException {
      if (in.hasRemaining()) {
        // The client must wait for the reply to STARTTLS; bytes sent before it are not TLS.
        throw new NbdProtocolException("client sent " + in.remaining() + " bytes before the reply to STARTTLS");
      }
      InetSocketAddress peer = (InetSocketAddress) channel.getRemoteAddress();
      SSLSocket ssl = (SSLSocket) context.getSocketFactory()
          .createSocket(channel.socket(), peer.getHostString(), peer.getPort(), true);
      ssl.setUseClientMode(false);
      ssl.setEnabledProtocols(new String[] {"TLSv1.3"});
      ssl.startHandshake();
      return new Tls(ssl, channel);
    }

    @Override
    public void close() throws IOException {
      channel.close();
    }

    @Override
    public String toString() {
      try {
        return "client " + channel.getRemoteAddress();
      } catch (IOException e) {
        return "client (closed)";
      }
    }
  }

  /** The TLS stream; copies through a heap buffer because SSLSocket streams take arrays. */
  final class Tls implements Transport {
    private static final int SCRATCH = 64 * 1024;
    private final SSLSocket socket;
    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] readScratch = new byte[SCRATCH]; // used by the one reading thread
    // Used only under the caller's write lock (Replies.lock); not an @GuardedBy, as that lock is not this object's.
    private final byte[] writeScratch = new byte[SCRATCH];

    Tls(SSLSocket socket, SocketChannel channel) throws IOException {
      this.socket = socket;
      this.channel = channel;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
      while (dst.hasRemaining()) {
        int n;
        if (dst.hasArray()) {
          n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
          if (n > 0) {
            dst.position(dst.position() + n);
          }
        } else {
          n = in.read(readScratch, 0, Math.min(SCRATCH, dst.remaining()));
          if (n > 0) {
            dst.put(readScratch, 0, n);
          }
        }
        if (n < 0) {
          throw new EOFException("connection closed by the client");
        }
      }
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
      for (ByteBuffer src : srcs) {
        while (src.hasRemaining()) {
          int n = Math.min(SCRATCH, src.remaining());
          src.get(writeScratch, 0, n);
          out.write(writeScratch, 0, n);
        }
      }
      out.flush();
    }

    @Override
    public void shutdownInput() {
      try {
        // SSLSocket refuses half-closing input; closing the channel below it unblocks the reader.
        channel.shutdownInput();
      } catch (IOException ignored) {
        // Already closed.
      }
    }

    @Override
    public boolean isTls() {
      return true;
    }

    @Override
    public Transport startTls(SSLContext context) {
      throw new IllegalStateException("TLS already started");
    }

    @Override
    public void close() throws IOException {
      try {
        socket.close();
      } finally {
        channel.close();
      }
    }

    @Override
    public String toString() {
      return "TLS client " + socket.getRemoteSocketAddress();
    }
  }

  private static boolean anyRemaining(ByteBuffer[] srcs) {
    for (ByteBuffer b : srcs) {
      if (b.hasRemaining()) {
        return true;
      }
    }
    return false;
  }
}
