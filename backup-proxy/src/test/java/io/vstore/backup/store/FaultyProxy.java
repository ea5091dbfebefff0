package io.vstore.backup.store;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on the loopback address in front of a real S3 endpoint that injects faults into
 * chosen requests: an error answer instead of forwarding, a request forwarded whose answer is lost
 * (replaced by a 500, or the connection closed), a request never answered. Every connection
 * carries one request ({@code Connection: close}), so requests are counted and faulted one by one.
 */
final class FaultyProxy implements Closeable {
  /** What happens to one request. */
  enum Fault {
    /** Forwarded, answer relayed. */
    NONE,
    /** Not forwarded; answered 500 InternalError. */
    ANSWER_500,
    /** Forwarded (so a PUT is written); the answer replaced by a 500. */
    FORWARD_THEN_500,
    /** Forwarded; the connection closed without an answer. */
    FORWARD_THEN_DROP,
    /** Not forwarded, never answered (until the client gives up). */
    HANG
  }

  private final ServerSocket server;
  private final URI target;
  private final Queue<Fault> next = new ConcurrentLinkedQueue<>();
  private final AtomicInteger requests = new AtomicInteger();
  private volatile Fault always;
  private volatile boolean closed;

  FaultyProxy(URI target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("faulty-proxy").start(this::acceptLoop);
  }

  /** Returns the proxy's endpoint URL. */
  URI endpoint() {
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  /** Applies these faults to the next requests, one each, in order. */
  void inject(Fault... faults) {
    next.addAll(java.util.List.of(faults));
  }

  /** Applies {@code fault} to every request from now on (null: none). */
  void always(Fault fault) {
    always = fault;
  }

  /** Returns how many requests arrived. */
  int requests() {
    return requests.get();
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Thread.ofVirtual().start(() -> serve(client));
      } catch (IOException e) {
        return;   // closed
      }
    }
  }

  private void serve(Socket client) {
    try (client) {
      InputStream in = client.getInputStream();
      OutputStream out = client.getOutputStream();
      String head = readHead(in);
      if (head == null) {
        return;
      }
      long length = 0;
      boolean expectContinue = false;
      StringBuilder forwarded = new StringBuilder();
      String[] lines = head.split("\r\n");
      forwarded.append(lines[0]).append("\r\n");
      for (int i = 1; i < lines.length; i++) {
        String lower = lines[i].toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          length = Long.parseLong(lines[i].substring(15).strip());
        }
        if (lower.startsWith("expect:")) {
          expectContinue = true;
          continue;   // answered here
        }
        if (lower.startsWith("connection:")) {
          continue;
        }
        forwarded.append(lines[i]).append("\r\n");
      }
      forwarded.append("Connection: close\r\n\r\n");
      Fault fault = always != null ? always : next.poll();
      fault = fault == null ? Fault.NONE : fault;
      requests.incrementAndGet();
      if (fault == Fault.ANSWER_500) {
        answer500(out);
        return;
      }
      if (fault == Fault.HANG) {
        while (!closed && in.read() >= 0) {
          // wait for the client to give up
        }
        return;
      }
      if (expectContinue) {
        out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
      byte[] body = in.readNBytes(Math.toIntExact(length));
      byte[] response;
      try (Socket upstream = new Socket(target.getHost(), target.getPort())) {
        OutputStream up = upstream.getOutputStream();
        up.write(forwarded.toString().getBytes(StandardCharsets.US_ASCII));
        up.write(body);
        up.flush();
        response = upstream.getInputStream().readAllBytes();
      }
      switch (fault) {
        case FORWARD_THEN_500 -> answer500(out);
        case FORWARD_THEN_DROP -> { }
        default -> out.write(response);
      }
    } catch (IOException e) {
      // the client went away: nothing to do
    }
  }

  private static void answer500(OutputStream out) throws IOException {
    byte[] xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>"
        .getBytes(StandardCharsets.US_ASCII);
    out.write(("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: " + xml.length
        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(xml);
    out.flush();
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (b.size() < 64 * 1024) {
      int c = in.read();
      if (c < 0) {
        return null;
      }
      b.write(c);
      state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
      if (state == 4) {
        String s = b.toString(StandardCharsets.US_ASCII);
        return s.substring(0, s.length() - 4);
      }
    }
    throw new IOException("request head over 64 KiB");
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
  }
}
