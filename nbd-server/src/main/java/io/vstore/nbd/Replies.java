package io.vstore.nbd;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes transmission-phase replies to one connection. Workers finish in any order, so each reply
 * (header and payload) is written whole under one lock; replies of different requests interleave
 * only between chunks, which the protocol allows.
 */
final class Replies {
  private final Transport transport;
  /** Longest error message sent; proto.md allows 4096 bytes, clients show one line. */
  private static final int MAX_MESSAGE = 1024;

  private final ReentrantLock lock = new ReentrantLock();
  /** Header scratch (room for an error chunk with its message), reused for every reply. */
  @GuardedBy("lock")
  private final ByteBuffer header = ByteBuffer.allocateDirect(Nbd.CHUNK_HEADER_SIZE + 6 + MAX_MESSAGE);
  @GuardedBy("lock")
  private final ByteBuffer[] two = new ByteBuffer[2];
  private volatile boolean broken;
  /** The thread whose replies are held for one gathering write, or null. */
  @GuardedBy("lock")
  private Thread corkedBy;
  /** Headers of held replies, copied here; payloads stay in their buffers. */
  @GuardedBy("lock")
  private ByteBuffer corkedHeaders;
  @GuardedBy("lock")
  private final java.util.ArrayList<ByteBuffer> corked = new java.util.ArrayList<>();
  /** Bounds one gathering write (the kernel takes at most 1024 buffers per call). */
  private static final int MAX_CORKED_BUFFERS = 512;

  Replies(Transport transport) {
    this.transport = transport;
  }

  /** Returns whether a write to the client failed, so no further reply can be delivered. */
  boolean broken() {
    return broken;
  }

  /**
   * Holds the calling thread's replies until {@link #uncork}, which sends them with one gathering
   * write. The payload buffers of held replies must stay untouched until then. One write for a
   * batch of 4 KiB read replies, rather than one per reply, saves most of the socket's per-call
   * and per-segment cost (the loopback delivery to the client runs in this write).
   */
  void cork() {
    lock.lock();
    try {
      if (corkedHeaders == null) {
        corkedHeaders = ByteBuffer.allocateDirect(64 << 10);
      }
      corkedBy = Thread.currentThread();
    } finally {
      lock.unlock();
    }
  }

  /** Sends the replies held since {@link #cork} and stops holding them. */
  void uncork() throws IOException {
    lock.lock();
    try {
      corkedBy = null;
      sendCorked();
    } finally {
      lock.unlock();
    }
  }

  private void sendCorked() throws IOException {
    if (corked.isEmpty()) {
      return;
    }
    ByteBuffer[] all = corked.toArray(ByteBuffer[]::new);
    corked.clear();
    corkedHeaders.clear();
    if (broken) {
      throw new IOException("connection to " + transport + " is broken");
    }
    try {
      transport.write(all);
    } catch (IOException | RuntimeException e) {
      broken = true;
      throw e;
    }
  }

  /** Sends a simple reply with {@code error} (0 for success) and no payload. */
  void simple(long cookie, int error) throws IOException {
    lock.lock();
    try {
      header.clear();
      header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie).flip();
      send(header, null);
    } finally {
      lock.unlock();
    }
  }

  /** Sends a successful simple reply to a read, followed by {@code data}. */
  void simpleRead(long cookie, ByteBuffer data) throws IOException {
    lock.lock();
    try {
      header.clear();
      header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(cookie).flip();
      send(header, data);
    } finally {
      lock.unlock();
    }
  }

  /** Sends an {@code NBD_REPLY_TYPE_OFFSET_DATA} chunk holding {@code data} read at {@code offset}. */
  void offsetData(long cookie, boolean done, long offset, ByteBuffer data) throws IOException {
    lock.lock();
    try {
      chunkHeader(cookie, done, Nbd.REPLY_TYPE_OFFSET_DATA, 8 + data.remaining());
      header.putLong(offset).flip();
      send(header, data);
    } finally {
      lock.unlock();
    }
  }

  /** Sends an {@code NBD_REPLY_TYPE_OFFSET_HOLE} chunk: {@code length} zero bytes at {@code offset}. */
  void offsetHole(long cookie, boolean done, long offset, int length) throws IOException {
    lock.lock();
    try {
      chunkHeader(cookie, done, Nbd.REPLY_TYPE_OFFSET_HOLE, 12);
      header.putLong(offset).putInt(length).flip();
      send(header, null);
    } finally {
      lock.unlock();
    }
  }

  /** Sends an {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk whose payload is {@code payload}. */
  void blockStatus(long cookie, boolean done, ByteBuffer payload) throws IOException {
    lock.lock();
    try {
      chunkHeader(cookie, done, Nbd.REPLY_TYPE_BLOCK_STATUS, payload.remaining());
      header.flip();
      send(header, payload);
    } finally {
      lock.unlock();
    }
  }

  /** Sends the final {@code NBD_REPLY_TYPE_NONE} chunk. */
  void none(long cookie) throws IOException {
    lock.lock();
    try {
      chunkHeader(cookie, true, Nbd.REPLY_TYPE_NONE, 0);
      header.flip();
      send(header, null);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends a failure: an {@code NBD_REPLY_TYPE_ERROR} chunk with {@code message} when structured
   * replies are on, else a simple reply carrying only the error number.
   */
  void error(long cookie, boolean structured, int error, String message) throws IOException {
    if (!structured) {
      simple(cookie, error);
      return;
    }
    byte[] text = message.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(text.length, MAX_MESSAGE);
    // The message is for humans; a shortened one is better than a second buffer on this path.
    while (n > 0 && n < text.length && (text[n] & 0xC0) == 0x80) {
      n--;
    }
    lock.lock();
    try {
      chunkHeader(cookie, true, Nbd.REPLY_TYPE_ERROR, 6 + n);
      header.putInt(error).putShort((short) n).put(text, 0, n).flip();
      send(header, null);
    } finally {
      lock.unlock();
    }
  }

  private void chunkHeader(long cookie, boolean done, int type, int length) {
    header.clear();
    header.putInt(Nbd.STRUCTURED_REPLY_MAGIC)
        .putShort((short) (done ? Nbd.REPLY_FLAG_DONE : 0))
        .putShort((short) type)
        .putLong(cookie)
        .putInt(length);
  }

  private void send(ByteBuffer head, ByteBuffer body) throws IOException {
    if (broken) {
      throw new IOException("connection to " + transport + " is broken");
    }
    if (corkedBy == Thread.currentThread()) {
      if (corkedHeaders.remaining() < head.remaining() || corked.size() + 2 > MAX_CORKED_BUFFERS) {
        sendCorked();
      }
      int at = corkedHeaders.position();
      corkedHeaders.put(head);
      corked.add(corkedHeaders.slice(at, corkedHeaders.position() - at));
      if (body != null) {
        corked.add(body.duplicate());
      }
      return;
    }
    try {
      if (body == null) {
        transport.write(head);
      } else {
        two[0] = head;
        two[1] = body;
        transport.write(two);
      }
    } catch (IOException | RuntimeException e) {
      broken = true;
      throw e;
    } finally {
      two[0] = null;
      two[1] = null;
    }
  }
}
