package io.vstore.nbd.client;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * The client's byte stream: a blocking {@link SocketChannel} (buffers go straight to the socket), or
 * after STARTTLS an {@link SSLSocket} over the same TCP connection. One thread reads; writers are
 * serialized by the caller.
 */
final class Connection implements AutoCloseable {
  private final SocketChannel channel;
  private final String host;
  private SSLSocket ssl;
  private InputStream sslIn;
  private OutputStream sslOut;
  /** Received bytes not yet consumed (read mode): replies arrive back to back, one receive serves many. */
  private final ByteBuffer in = ByteBuffer.allocateDirect(64 << 10).flip();
  /** TLS copies through arrays: one for the reading thread, one for the (serialized) writers. */
  private byte[] readScratch = new byte[0];
  private byte[] writeScratch = new byte[0];

  private Connection(SocketChannel channel, String host) {
    this.channel = channel;
    this.host = host;
  }

  static Connection open(String host, int port, Duration timeout) throws IOException {
    SocketChannel ch = SocketChannel.open();
    boolean ok = false;
    try {
      ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
      ch.socket().connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
      ok = true;
      return new Connection(ch, host);
    } finally {
      if (!ok) {
        ch.close();
      }
    }
  }

  /** Sets the time a blocked read may wait (0: forever); used while negotiating. */
  void setReadTimeout(Duration timeout) throws IOException {
    int ms = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    if (ssl != null) {
      ssl.setSoTimeout(ms);
    } else {
      channel.socket().setSoTimeout(ms);
    }
  }

  /** Performs the client side of a TLS 1.3 handshake over the connection. */
  void startTls(SSLContext context) throws IOException {
    if (in.hasRemaining()) {
      throw new IOException("bad NBD server: " + host + " sent data after accepting STARTTLS");
    }
    Socket plain = channel.socket();
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(plain, host, plain.getPort(), true);
    s.setUseClientMode(true);
    SSLParameters params = s.getSSLParameters();
    params.setEndpointIdentificationAlgorithm("HTTPS");
    if (!host.isEmpty() && !Character.isDigit(host.charAt(0)) && !host.contains(":")) {
      params.setServerNames(java.util.List.of(new SNIHostName(host)));
    }
    s.setSSLParameters(params);
    s.startHandshake();
    ssl = s;
    sslIn = s.getInputStream();
    sslOut = s.getOutputStream();
  }

  boolean isTls() {
    return ssl != null;
  }

  /** Fills {@code dst}; {@link EOFException} when the server closes first. */
  void readFully(ByteBuffer dst) throws IOException {
    if (ssl != null) {
      while (dst.hasRemaining()) {
        int n = Math.min(dst.remaining(), 256 << 10);
        if (readScratch.length < n) {
          readScratch = new byte[Math.max(n, 64 << 10)];
        }
        byte[] b = readScratch;
        int got = sslIn.read(b, 0, n);
        if (got < 0) {
          throw new EOFException("connection closed by the server");
        }
        dst.put(b, 0, got);
      }
      return;
    }
    while (dst.hasRemaining()) {
      if (in.hasRemaining()) {
        int n = Math.min(in.remaining(), dst.remaining());
        dst.put(in.slice(in.position(), n));
        in.position(in.position() + n);
      } else if (dst.remaining() >= in.capacity()) {
        if (channel.read(dst) < 0) { // large payloads go straight to their buffer
          throw new EOFException("connection closed by the server");
        }
      } else {
        in.clear();
        int got = channel.read(in);
        in.flip();
        if (got < 0) {
          throw new EOFException("connection closed by the server");
        }
      }
    }
  }

  /** Reads and throws away {@code n} bytes. */
  void skip(long n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) Math.min(n, 64 << 10));
    while (n > 0) {
      b.clear().limit((int) Math.min(n, b.capacity()));
      readFully(b);
      n -= b.limit();
    }
  }

  /** Writes every remaining byte of {@code srcs}. */
  void write(ByteBuffer... srcs) throws IOException {
    if (ssl != null) {
      for (ByteBuffer src : srcs) {
        while (src.hasRemaining()) {
          int n = Math.min(src.remaining(), 256 << 10);
          if (writeScratch.length < n) {
            writeScratch = new byte[Math.max(n, 64 << 10)];
          }
          byte[] b = writeScratch;
          src.get(b, 0, n);
          sslOut.write(b, 0, n);
        }
      }
      sslOut.flush();
      return;
    }
    long left = 0;
    for (ByteBuffer b : srcs) {
      left += b.remaining();
    }
    while (left > 0) {
      left -= channel.write(srcs);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      if (ssl != null) {
        ssl.close();
      }
    } finally {
      channel.close();
    }
  }
}
