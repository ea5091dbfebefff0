package io.vstore.nbd.client;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.nbd.Nbd;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;

/**
 * A {@link BlockDevice} over one NBD connection. Requests from many threads are pipelined: each
 * gets a handle, one reader thread matches replies to them as they arrive (in any order). Large
 * calls are split into requests of at most the server's maximum payload and sent together.
 *
 * <p>Every length and offset the server sends is checked against the request it answers before a
 * byte is stored. A broken connection (closed, malformed reply, request timed out) fails every
 * request in flight and every later call with the same cause; reconnecting is the caller's job.
 */
public final class NbdBlockDevice implements BlockDevice {
  /** Requests in flight at once; more callers wait for a reply. */
  private static final int MAX_IN_FLIGHT = 64;

  /**
   * How to connect.
   *
   * @param tls the context for STARTTLS, or null: plain unless the address says {@code nbds}, then
   *     the JDK's default trust
   * @param connectTimeout how long connecting and negotiating may take
   * @param requestTimeout how long one request may wait for its reply before the connection is
   *     declared broken
   * @param structuredReplies whether to ask for structured replies (and {@code base:allocation})
   */
  public record Options(SSLContext tls, Duration connectTimeout, Duration requestTimeout, boolean structuredReplies) {
    /** Checks the durations. */
    public Options {
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      Objects.requireNonNull(requestTimeout, "requestTimeout");
      if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative() || requestTimeout.isZero()) {
        throw new IllegalArgumentException("timeouts must be positive: " + connectTimeout + ", " + requestTimeout);
      }
    }

    /** Returns plain TCP, 10 s to connect, 60 s per request, structured replies asked for. */
    public static Options defaults() {
      return new Options(null, Duration.ofSeconds(10), Duration.ofSeconds(60), true);
    }

    /** Returns these options with {@code context} for STARTTLS. */
    public Options withTls(SSLContext context) {
      return new Options(context, connectTimeout, requestTimeout, structuredReplies);
    }

    /** Returns these options with {@code timeout} per request. */
    public Options withRequestTimeout(Duration timeout) {
      return new Options(tls, connectTimeout, timeout, structuredReplies);
    }

    /** Returns these options with structured replies asked for or not. */
    public Options withStructuredReplies(boolean ask) {
      return new Options(tls, connectTimeout, requestTimeout, ask);
    }
  }

  private final NbdAddress address;
  private final Connection connection;
  private final long size;
  private final int transmissionFlags;
  private final int maxPayload;
  private final boolean structured;
  /** The id of {@code base:allocation}, or -1 when the server did not select it. */
  private final int allocationContext;
  private final Duration requestTimeout;
  private final Map<Long, PendingRequest> pending = new ConcurrentHashMap<>();
  private final AtomicLong handles = new AtomicLong(1);
  private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
  /** Serializes request headers and payloads on the socket. */
  private final ReentrantLock sendLock = new ReentrantLock();
  private final Thread reader;
  private volatile IOException broken;
  private volatile boolean closed;

  private NbdBlockDevice(NbdAddress address, Connection connection, Negotiation.Result r, Duration requestTimeout) {
    this.address = address;
    this.connection = connection;
    this.size = r.size();
    this.transmissionFlags = r.transmissionFlags();
    this.maxPayload = r.maxPayload();
    this.structured = r.structured();
    this.allocationContext = r.allocationContext();
    this.requestTimeout = requestTimeout;
    this.reader = Thread.ofVirtual().name("nbd-client " + address).unstarted(this::readReplies);
  }

  /** Connects to {@code address}, negotiates (TLS first when asked) and opens the export. */
  public static NbdBlockDevice connect(NbdAddress address, Options options) throws IOException {
    Connection c = Connection.open(address.host(), address.port(), options.connectTimeout());
    boolean ok = false;
    try {
      Negotiation.Result r = Negotiation.run(c, address, options);
      NbdBlockDevice d = new NbdBlockDevice(address, c, r, options.requestTimeout());
      d.reader.start();
      ok = true;
      return d;
    } catch (EOFException e) {
      throw new IOException("bad NBD server: " + address + " closed the connection while negotiating", e);
    } finally {
      if (!ok) {
        c.close();
      }
    }
  }

  /** Returns the address this device is connected to. */
  public NbdAddress address() {
    return address;
  }

  /** Returns whether the connection is encrypted. */
  public boolean isTls() {
    return connection.isTls();
  }

  /** Returns whether structured replies were negotiated. */
  public boolean structuredReplies() {
    return structured;
  }

  /** Returns whether the connection still works (not closed, not broken). */
  public boolean isConnected() {
    return !closed && broken == null;
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public boolean isReadOnly() {
    return (transmissionFlags & Nbd.FLAG_READ_ONLY) != 0;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    int n = dst.remaining();
    checkRange(offset, n);
    List<PendingRequest> sent = new ArrayList<>();
    try {
      for (int done = 0; done < n; ) {
        int len = Math.min(maxPayload, n - done);
        ByteBuffer part = dst.slice(dst.position() + done, len);
        sent.add(submit(Nbd.CMD_READ, 0, offset + done, len, null, part));
        done += len;
      }
    } finally {
      awaitAll(sent);
    }
    dst.position(dst.position() + n);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    int n = src.remaining();
    checkRange(offset, n);
    checkWritable();
    List<PendingRequest> sent = new ArrayList<>();
    try {
      for (int done = 0; done < n; ) {
        int len = Math.min(maxPayload, n - done);
        sent.add(submit(Nbd.CMD_WRITE, 0, offset + done, len, src.slice(src.position() + done, len), null));
        done += len;
      }
    } finally {
      awaitAll(sent);
    }
    src.position(src.position() + n);
  }

  @Override
  public void flush() throws IOException {
    checkOpen();
    if ((transmissionFlags & Nbd.FLAG_SEND_FLUSH) != 0) {
      awaitAll(List.of(submit(Nbd.CMD_FLUSH, 0, 0, 0, null, null)));
    }
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    checkRange(offset, length);
    checkWritable();
    if ((transmissionFlags & Nbd.FLAG_SEND_WRITE_ZEROES) == 0) {
      writeZeroBuffers(offset, length);
      return;
    }
    List<PendingRequest> sent = new ArrayList<>();
    try {
      for (long done = 0; done < length; ) {
        int len = (int) Math.min(Wire.MAX_RANGE, length - done);
        sent.add(submit(Nbd.CMD_WRITE_ZEROES, mayUnmap ? 0 : Nbd.CMD_FLAG_NO_HOLE, offset + done, len, null, null));
        done += len;
      }
    } finally {
      awaitAll(sent);
    }
  }

  private void writeZeroBuffers(long offset, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(length, maxPayload));
    for (long done = 0; done < length; ) {
      int len = (int) Math.min(zeros.capacity(), length - done);
      write(offset + done, zeros.clear().limit(len));
      done += len;
    }
  }

  /** Zeroes the range allowing unmap: NBD's TRIM does not promise zeros, WRITE_ZEROES does. */
  @Override
  public void discard(long offset, long length) throws IOException {
    writeZeroes(offset, length, true);
  }

  /** Reports {@code base:allocation} when the server offers it, else the whole range as DATA. */
  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    checkRange(offset, length);
    List<Extent> out = new ArrayList<>();
    if (length == 0) {
      return out;
    }
    if (allocationContext < 0) {
      out.add(new Extent(offset, length, Extent.Kind.DATA));
      return out;
    }
    long pos = offset;
    long end = offset + length;
    while (pos < end) {
      int len = (int) Math.min(Wire.MAX_RANGE, end - pos);
      PendingRequest r = submit(Nbd.CMD_BLOCK_STATUS, 0, pos, len, null, null);
      awaitAll(List.of(r));
      if (r.extents == null || r.extents.isEmpty()) {
        throw fail(new IOException("bad NBD reply from " + address + ": block status at " + pos + " reported no extent"));
      }
      for (Extent e : r.extents) {
        long l = Math.min(e.length(), end - pos);
        Extent clipped = new Extent(pos, l, e.kind());
        Extent last = out.isEmpty() ? null : out.getLast();
        if (last != null && last.kind() == clipped.kind()) {
          out.set(out.size() - 1, new Extent(last.offset(), last.length() + l, last.kind()));
        } else {
          out.add(clipped);
        }
        pos += l;
        if (pos >= end) {
          break;
        }
      }
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (broken == null) {
        // Let requests in flight finish, then say goodbye; the server closes after DISC.
        inFlight.tryAcquire(MAX_IN_FLIGHT, requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        ByteBuffer h = header(Nbd.CMD_DISC, 0, 0, 0, 0);
        sendLock.lock();
        try {
          connection.write(h);
        } catch (IOException e) {
          // The server went away first: nothing is lost, DISC carries no data.
        } finally {
          sendLock.unlock();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      broken = broken != null ? broken : new IOException("NBD connection to " + address + " closed");
      connection.close();
      failPending(broken);
    }
  }

  @Override
  public String toString() {
    return address.toString();
  }

  private void checkRange(long offset, long length) {
    if (offset < 0 || length < 0 || offset > size - length) {
      throw new OutOfRangeException(address + ": range at " + offset + " length " + length
          + " is outside the export's " + size + " bytes");
    }
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    if (isReadOnly()) {
      throw new ReadOnlyDeviceException(address + " is exported read-only");
    }
  }

  private void checkOpen() throws IOException {
    if (closed) {
      throw new AlreadyClosedException(address);
    }
    IOException b = broken;
    if (b != null) {
      throw new IOException("NBD connection to " + address + " is broken: " + b.getMessage(), b);
    }
  }

  private static ByteBuffer header(int command, int flags, long handle, long offset, int length) {
    return ByteBuffer.allocate(28).putInt(Nbd.REQUEST_MAGIC).putShort((short) flags).putShort((short) command)
        .putLong(handle).putLong(offset).putInt(length).flip();
  }

  private PendingRequest submit(int command, int flags, long offset, int length, ByteBuffer payload, ByteBuffer dst)
      throws IOException {
    checkOpen();
    try {
      inFlight.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted waiting to send to " + address);
    }
    long handle = handles.getAndIncrement();
    PendingRequest r = new PendingRequest(command, offset, length, dst);
    r.done.whenComplete((v, t) -> inFlight.release());
    pending.put(handle, r);
    if (broken != null) { // failPending may have run before the put
      r.done.completeExceptionally(broken);
      pending.remove(handle);
      return r;
    }
    ByteBuffer h = header(command, flags, handle, offset, length);
    sendLock.lock();
    try {
      if (payload != null) {
        connection.write(h, payload);
      } else {
        connection.write(h);
      }
    } catch (IOException e) {
      fail(new IOException("cannot send to " + address + ": " + e.getMessage(), e));
    } finally {
      sendLock.unlock();
    }
    return r;
  }

  private void awaitAll(List<PendingRequest> requests) throws IOException {
    IOException first = null;
    long deadline = System.nanoTime() + requestTimeout.toNanos();
    for (PendingRequest r : requests) {
      try {
        r.done.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        IOException t = fail(new IOException("NBD server " + address + " did not answer within " + requestTimeout));
        first = first == null ? t : first;
      } catch (ExecutionException e) {
        IOException cause = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        if (first == null) {
          first = rethrowable(cause);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted waiting for " + address);
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Copies the exception so the caller's stack shows up (the original was made on the reader thread). */
  private static IOException rethrowable(IOException e) {
    return switch (e) {
      case ReadOnlyDeviceException r -> new ReadOnlyDeviceException(r.getMessage());
      case OutOfSpaceException o -> new OutOfSpaceException(o.getMessage());
      case NbdRequestException n -> new NbdRequestException(n.getMessage(), n.error());
      default -> new IOException(e.getMessage(), e);
    };
  }

  /** Marks the connection broken with {@code cause}, closes it and fails every request; returns the cause. */
  private IOException fail(IOException cause) {
    synchronized (this) {
      if (broken == null) {
        broken = cause;
      }
    }
    try {
      connection.close();
    } catch (IOException e) {
      cause.addSuppressed(e);
    }
    failPending(broken);
    return broken;
  }

  private void failPending(IOException cause) {
    for (Long h : List.copyOf(pending.keySet())) {
      PendingRequest r = pending.remove(h);
      if (r != null) {
        r.done.completeExceptionally(cause);
      }
    }
  }

  private void readReplies() {
    ReplyReader rr = new ReplyReader(connection, address, allocationContext);
    try {
      while (true) {
        ReplyReader.Header h = rr.next();
        PendingRequest r = h.structured() ? pending.get(h.handle()) : pending.remove(h.handle());
        if (r == null) {
          throw new ReplyReader.ProtocolError("bad NBD reply from " + address + ": unknown handle " + h.handle());
        }
        if (!h.structured()) {
          rr.simple(h, r);
        } else if (rr.chunk(h, r)) {
          pending.remove(h.handle());
        } else {
          continue;
        }
        if (r.error == null) {
          r.done.complete(null);
        } else {
          r.done.completeExceptionally(r.error);
        }
      }
    } catch (ReplyReader.ProtocolError e) {
      fail(new IOException(e.getMessage()));
    } catch (IOException e) {
      if (!closed) {
        fail(new IOException("NBD connection to " + address + " lost: " + e.getMessage(), e));
      }
    }
  }
}
