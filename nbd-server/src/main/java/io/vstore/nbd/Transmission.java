package io.vstore.nbd;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.OutOfSpaceException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.store.ReadPlan;
import io.vstore.blockstore.store.Volume;
import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;

/**
 * The transmission phase of one connection. One thread reads requests (and write payloads, in full,
 * before anything is applied: a client that vanishes mid-payload changes nothing); each request
 * then runs on its own worker thread and replies as soon as it is done, so replies go out of order
 * and a slow request never holds up the others.
 */
final class Transmission {
  private static final System.Logger LOG = System.getLogger(Transmission.class.getName());
  /** Most requests of one connection being served at once (each holds a worker thread). */
  static final int MAX_IN_FLIGHT = 64;
  /** Payload bytes one connection may hold at once, in pages; bounds memory per client. */
  private static final int BUDGET_PAGE = 4096;
  private static final int BUDGET_PAGES = (64 << 20) / BUDGET_PAGE;
  /** Chunk used to warm caches for NBD_CMD_CACHE and to skip refused write payloads. */
  private static final int CHUNK = 1 << 20;

  private final Transport transport;
  private final Export export;
  private final BlockDevice device;
  private final boolean structured;
  private final List<Handshake.SelectedContext> contexts;
  private final BufferPool pool;
  private final Executor workers;
  /** Reads that start and end on this boundary can be planned (a volume's block). */
  private static final int BLOCK = 4096;
  /** Writes up to this size are applied on the connection's own thread. */
  private static final int INLINE_WRITE_BYTES = 64 << 10;
  private final Replies replies;
  /** Serves small reads of a volume with asynchronous I/O; null: workers serve every read. */
  private final ReadRing ring;
  private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
  private final Semaphore budget = new Semaphore(BUDGET_PAGES);
  private final ByteBuffer header = ByteBuffer.allocateDirect(Nbd.REQUEST_HEADER_SIZE); // reader thread only
  private volatile boolean stopping;
  /** Bytes clients asked to read and sent to write; only the reader thread adds, others look. */
  private volatile long bytesRead;
  private volatile long bytesWritten;

  /** A request read off the wire, with its payload for writes. */
  private record Request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload, int pages) {}

  Transmission(Handshake.Agreement agreement, BufferPool pool, Executor workers, java.util.concurrent.atomic.LongAdder ringReads) {
    this.workers = workers;
    this.transport = agreement.transport();
    this.export = agreement.export();
    this.device = export.device();
    this.structured = agreement.structured();
    this.contexts = agreement.contexts();
    this.pool = pool;
    this.replies = new Replies(transport);
    this.ring = device instanceof Volume v && v.plansReads() ? ReadRing.start(transport.toString(), replies, ringReads) : null;
  }

  /** Returns the export this connection serves. */
  Export export() {
    return export;
  }

  /** Returns the bytes of the read requests accepted so far. */
  long bytesRead() {
    return bytesRead;
  }

  /** Returns the bytes of write payloads received so far. */
  long bytesWritten() {
    return bytesWritten;
  }

  /** Stops reading requests; {@link #serve} returns once the requests in flight are answered. */
  void stop() {
    stopping = true;
    transport.shutdownInput();
  }

  /** Serves requests until the client disconnects or breaks the protocol, then waits for workers. */
  void serve() throws IOException {
    try {
      readLoop();
    } finally {
      // Every request already read is answered (or fails to reply to a gone client) before close.
      inFlight.acquireUninterruptibly(MAX_IN_FLIGHT);
      inFlight.release(MAX_IN_FLIGHT);
      if (ring != null) {
        ring.close();
      }
    }
  }

  private void readLoop() throws IOException {
    while (!stopping && !replies.broken()) {
      header.clear();
      try {
        transport.readFully(header);
      } catch (EOFException e) {
        return; // hard disconnect by the client, or our own stop()
      } catch (IOException e) {
        if (stopping) {
          return;
        }
        throw e;
      }
      header.flip();
      int magic = header.getInt();
      if (magic != Nbd.REQUEST_MAGIC) {
        throw new NbdProtocolException("bad request magic 0x" + Integer.toHexString(magic));
      }
      int flags = Short.toUnsignedInt(header.getShort());
      int type = Short.toUnsignedInt(header.getShort());
      long cookie = header.getLong();
      long offset = header.getLong();
      long length = Integer.toUnsignedLong(header.getInt());
      if (type == Nbd.CMD_DISC) {
        return;
      }
      int error = check(flags, type, offset, length);
      if (type == Nbd.CMD_WRITE) {
        if (error != 0) {
          // The payload must still be consumed to stay in step with the client.
          skip(length);
          refuse(cookie, error, offset, length, type);
          continue;
        }
        int pages = pages(length);
        budget.acquireUninterruptibly(pages);
        ByteBuffer payload = pool.acquire((int) length);
        try {
          transport.readFully(payload);
        } catch (IOException e) {
          pool.release(payload);
          budget.release(pages);
          if (e instanceof EOFException) {
            return; // the write is incomplete and was never applied
          }
          throw e;
        }
        payload.flip();
        bytesWritten += length;
        dispatch(new Request(flags, type, cookie, offset, length, payload, pages));
      } else if (error != 0) {
        refuse(cookie, error, offset, length, type);
      } else {
        int pages = type == Nbd.CMD_READ ? pages(length) : 0;
        if (type == Nbd.CMD_READ) {
          bytesRead += length;
        }
        budget.acquireUninterruptibly(pages);
        dispatch(new Request(flags, type, cookie, offset, length, null, pages));
      }
    }
  }

  /** Returns the error a request gets before touching the device, or 0 when it may run. */
  private int check(int flags, int type, long offset, long length) {
    int allowed = switch (type) {
      case Nbd.CMD_READ -> Nbd.CMD_FLAG_FUA | (structured ? Nbd.CMD_FLAG_DF : 0);
      case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> Nbd.CMD_FLAG_FUA;
      case Nbd.CMD_WRITE_ZEROES -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
      case Nbd.CMD_BLOCK_STATUS -> Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_REQ_ONE;
      default -> -1;
    };
    if (allowed < 0 || (flags & ~allowed) != 0) {
      return Nbd.EINVAL;
    }
    boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
    if (writes && !export.writable()) {
      return Nbd.EPERM;
    }
    if (type == Nbd.CMD_FLUSH) {
      return 0;
    }
    if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length > Nbd.MAX_PAYLOAD) {
      return Nbd.EINVAL;
    }
    long size = device.size();
    if (offset < 0 || offset > size || length > size - offset) {
      return type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES ? Nbd.ENOSPC : Nbd.EINVAL;
    }
    if (type == Nbd.CMD_BLOCK_STATUS && (contexts.isEmpty() || length == 0)) {
      return Nbd.EINVAL;
    }
    return 0;
  }

  private void refuse(long cookie, int error, long offset, long length, int type) throws IOException {
    String why = switch (error) {
      case Nbd.EPERM -> export.name() + " is read-only";
      case Nbd.ENOSPC -> "range offset " + Long.toUnsignedString(offset) + " length " + length + " is beyond the end of " + export.name();
      default -> "invalid request: type " + type + " offset " + Long.toUnsignedString(offset) + " length " + length;
    };
    replies.error(cookie, structured, error, why);
  }

  private void dispatch(Request r) throws IOException {
    if (r.type() == Nbd.CMD_WRITE && r.length() <= INLINE_WRITE_BYTES && (r.flags() & Nbd.CMD_FLAG_FUA) == 0) {
      // Small writes are CPU work on a volume (checksum, copy into a segment block): handing
      // each to a worker cost two context switches, which took nearly half the server's CPU
      // in 4 KiB random writes (perf). Run them here; large writes still use the workers,
      // where several compress in parallel, and so do FUA writes and reads, which wait for the disk.
      inFlight.acquireUninterruptibly();
      try {
        handle(r);
      } finally {
        done(r);
      }
      return;
    }
    inFlight.acquireUninterruptibly();
    if (r.type() == Nbd.CMD_READ && ring != null && ringReadable(r) && viaRing(r)) {
      return;
    }
    try {
      workers.execute(() -> {
        try {
          handle(r);
        } finally {
          done(r);
        }
      });
    } catch (RejectedExecutionException e) {
      // The server is shutting down: proto.md's answer is ESHUTDOWN.
      done(r);
      replies.error(r.cookie(), structured, Nbd.ESHUTDOWN, "server is shutting down");
    }
  }

  /**
   * Plans read {@code r} here and hands it to the ring; returns false when a worker must serve
   * it instead (not plannable, or the ring failed). Planning here, not on the ring's thread,
   * spreads one connection's reads over two cores.
   */
  private boolean viaRing(Request r) {
    RingRead job = new RingRead(r);
    try {
      if (job.makePlan() && ring.offer(job)) {
        return true;
      }
    } catch (Exception e) {
      fail(r, e);
      job.release(true);
      return true;
    }
    if (job.plan != null) {
      job.plan.release();
    }
    pool.release(job.buffer);
    return false;
  }

  /** Returns whether the ring can serve read {@code r}: small, whole blocks, in a structured or simple reply. */
  private static boolean ringReadable(Request r) {
    return r.length() > 0 && r.length() <= ReadRing.MAX_READ_BYTES && r.offset() % BLOCK == 0 && r.length() % BLOCK == 0;
  }

  /** A read served by the ring: planned by the reader, completed and answered on the ring's thread. */
  private final class RingRead implements ReadRing.Job {
    private final Request request;
    private final ByteBuffer buffer;
    private ReadPlan plan;

    RingRead(Request request) {
      this.request = request;
      this.buffer = pool.acquire((int) request.length());
    }

    /** Plans the read; returns false when it cannot be planned (then a worker reads it). */
    boolean makePlan() throws IOException {
      plan = ((Volume) device).planRead(request.offset(), buffer, pool);
      return plan != null;
    }

    @Override
    public ReadPlan plan() {
      return plan;
    }

    @Override
    public void reply(Exception failure) throws IOException {
      if (failure != null) {
        fail(request, failure);
        return;
      }
      boolean df = (request.flags() & Nbd.CMD_FLAG_DF) != 0;
      replyRead(request, buffer.clear().limit((int) request.length()), df ? null : plan.allocation());
    }

    @Override
    public void release(boolean buffersReusable) {
      if (buffersReusable) {
        pool.release(buffer);
      }
      done(request);
    }
  }

  private void done(Request r) {
    if (r.payload() != null) {
      pool.release(r.payload());
    }
    budget.release(r.pages());
    inFlight.release();
  }

  private void handle(Request r) {
    try {
      switch (r.type()) {
        case Nbd.CMD_READ -> read(r);
        case Nbd.CMD_WRITE -> {
          device.write(r.offset(), r.payload());
          fua(r);
          replies.simple(r.cookie(), 0);
        }
        case Nbd.CMD_FLUSH -> {
          device.flush();
          replies.simple(r.cookie(), 0);
        }
        case Nbd.CMD_TRIM -> {
          if (r.length() > 0) {
            device.discard(r.offset(), r.length());
          }
          fua(r);
          replies.simple(r.cookie(), 0);
        }
        case Nbd.CMD_WRITE_ZEROES -> writeZeroes(r);
        case Nbd.CMD_CACHE -> {
          cache(r);
          replies.simple(r.cookie(), 0);
        }
        case Nbd.CMD_BLOCK_STATUS -> blockStatus(r);
        default -> throw new AssertionError("unchecked request type " + r.type());
      }
    } catch (Exception e) {
      fail(r, e);
    }
  }

  /** Answers {@code r} with the error {@code e} maps to; logs failures that are not the client's doing. */
  private void fail(Request r, Exception e) {
    if (replies.broken()) {
      LOG.log(Level.DEBUG, () -> transport + ": client gone before the reply to request " + r.type());
      return;
    }
    int error = errno(e);
    if (error == Nbd.EIO) {
      LOG.log(Level.WARNING, transport + ": request " + r.type() + " on " + export.name() + " failed", e);
    }
    try {
      replies.error(r.cookie(), structured, error, e.getMessage() == null ? e.toString() : e.getMessage());
    } catch (IOException gone) {
      LOG.log(Level.DEBUG, () -> transport + ": client gone before an error reply");
    }
  }

  private void fua(Request r) throws IOException {
    if ((r.flags() & Nbd.CMD_FLAG_FUA) != 0) {
      device.flush();
    }
  }

  private void writeZeroes(Request r) throws IOException {
    boolean noHole = (r.flags() & Nbd.CMD_FLAG_NO_HOLE) != 0;
    if ((r.flags() & Nbd.CMD_FLAG_FAST_ZERO) != 0 && noHole) {
      // Fully provisioned zeros cost as much as writing them; proto.md wants a quick ENOTSUP.
      replies.error(r.cookie(), structured, Nbd.ENOTSUP, "fast zeroing without holes is not supported");
      return;
    }
    if (r.length() > 0) {
      device.writeZeroes(r.offset(), r.length(), !noHole);
    }
    fua(r);
    replies.simple(r.cookie(), 0);
  }

  private void read(Request r) throws IOException {
    int length = (int) r.length();
    ByteBuffer buffer = pool.acquire(length);
    try {
      List<Extent> extents = !structured || length == 0 || (r.flags() & Nbd.CMD_FLAG_DF) != 0 ? null
          : device.allocation(r.offset(), length);
      if (extents == null || extents.size() == 1 && extents.getFirst().kind() == Extent.Kind.DATA) {
        device.read(r.offset(), buffer);
      } else {
        for (Extent e : extents) {
          if (e.kind() == Extent.Kind.DATA) {
            device.read(e.offset(), buffer.slice((int) (e.offset() - r.offset()), (int) e.length()));
          }
        }
      }
      replyRead(r, buffer.clear().limit(length), extents);
    } finally {
      pool.release(buffer);
    }
  }

  /**
   * Sends the data of read {@code r}, all of it in {@code buffer}: holes of {@code extents} as
   * hole chunks in a structured reply (every data extent was read before, so no chunk goes out
   * before an error could still occur); null extents send everything as data.
   */
  private void replyRead(Request r, ByteBuffer buffer, List<Extent> extents) throws IOException {
    if (!structured) {
      replies.simpleRead(r.cookie(), buffer);
      return;
    }
    if (r.length() == 0) {
      replies.none(r.cookie());
      return;
    }
    if (extents == null || extents.size() == 1 && extents.getFirst().kind() == Extent.Kind.DATA) {
      replies.offsetData(r.cookie(), true, r.offset(), buffer);
      return;
    }
    for (int i = 0; i < extents.size(); i++) {
      Extent e = extents.get(i);
      boolean done = i == extents.size() - 1;
      if (e.kind() == Extent.Kind.DATA) {
        replies.offsetData(r.cookie(), done, e.offset(), buffer.slice((int) (e.offset() - r.offset()), (int) e.length()));
      } else {
        replies.offsetHole(r.cookie(), done, e.offset(), (int) e.length());
      }
    }
  }

  private void cache(Request r) throws IOException {
    ByteBuffer buffer = pool.acquire((int) Math.min(CHUNK, Math.max(r.length(), 1)));
    try {
      long pos = r.offset();
      long end = r.offset() + r.length();
      while (pos < end) {
        int n = (int) Math.min(CHUNK, end - pos);
        buffer.clear().limit(n);
        device.read(pos, buffer);
        pos += n;
      }
    } finally {
      pool.release(buffer);
    }
  }

  private void blockStatus(Request r) throws IOException {
    boolean one = (r.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0;
    for (int i = 0; i < contexts.size(); i++) {
      Handshake.SelectedContext c = contexts.get(i);
      List<StatusExtent> extents = c.source().status(r.offset(), r.length());
      if (extents.isEmpty()) {
        throw new IOException(c.source() + " reported nothing at offset " + r.offset());
      }
      int count = 0;
      long covered = 0;
      while (count < extents.size() && count < Nbd.MAX_EXTENTS && covered < r.length() && !(one && count == 1)) {
        covered += extents.get(count).length();
        count++;
      }
      ByteBuffer payload = pool.acquire(4 + 8 * count);
      try {
        payload.putInt(c.id());
        long remaining = r.length();
        for (int k = 0; k < count; k++) {
          StatusExtent e = extents.get(k);
          // Lengths are 32-bit on the wire; a run longer than the request is cut to it.
          long len = Math.min(e.length(), k == count - 1 ? remaining : e.length());
          payload.putInt((int) Math.min(len, 0xFFFF_FFFFL)).putInt(e.flags());
          remaining -= len;
        }
        replies.blockStatus(r.cookie(), i == contexts.size() - 1, payload.flip());
      } finally {
        pool.release(payload);
      }
    }
  }

  private void skip(long length) throws IOException {
    ByteBuffer scratch = pool.acquire((int) Math.min(CHUNK, Math.max(length, 1)));
    try {
      long left = length;
      while (left > 0) {
        scratch.clear().limit((int) Math.min(left, scratch.capacity()));
        transport.readFully(scratch);
        left -= scratch.limit();
      }
    } finally {
      pool.release(scratch);
    }
  }

  private static int pages(long length) {
    return (int) Math.max(1, (length + BUDGET_PAGE - 1) / BUDGET_PAGE);
  }

  /** Maps a device failure to the protocol's error number. */
  static int errno(Throwable e) {
    return switch (e) {
      case ReadOnlyDeviceException x -> Nbd.EPERM;
      case OutOfSpaceException x -> Nbd.ENOSPC;
      case OutOfRangeException x -> Nbd.EINVAL;
      case AlreadyClosedException x -> Nbd.ESHUTDOWN;
      case IllegalArgumentException x -> Nbd.EINVAL;
      default -> Nbd.EIO;
    };
  }
}
