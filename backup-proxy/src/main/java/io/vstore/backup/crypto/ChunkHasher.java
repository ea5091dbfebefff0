package io.vstore.backup.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under a repository's chunk-id key: the id of a chunk or page. Keyed so that equal data
 * in two repositories gets unrelated ids and an id reveals nothing about the data without the key.
 * Thread-safe: each call borrows a {@link Mac} from a small pool (not a thread-local, because callers
 * may be many short-lived virtual threads).
 */
public final class ChunkHasher {
  /** Bytes of an id. */
  public static final int ID_BYTES = 32;

  private final SecretKeySpec spec;
  private final ConcurrentLinkedQueue<Mac> macs = new ConcurrentLinkedQueue<>();

  /** Creates a hasher for the 32-byte {@code key} (copied). */
  public ChunkHasher(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("chunk-id key must be 32 bytes, not " + key.length);
    }
    this.spec = new SecretKeySpec(key.clone(), "HmacSHA256");
  }

  /** Returns the 32-byte id of the remaining bytes of {@code data}, without moving its position. */
  public byte[] hash(ByteBuffer data) {
    Mac mac = mac();
    try {
      mac.update(data.duplicate());
      return mac.doFinal();
    } finally {
      macs.offer(mac);
    }
  }

  /** Returns the 32-byte id of {@code length} bytes of {@code data} from {@code offset}. */
  public byte[] hash(byte[] data, int offset, int length) {
    Mac mac = mac();
    try {
      mac.update(data, offset, length);
      return mac.doFinal();
    } finally {
      macs.offer(mac);
    }
  }

  private Mac mac() {
    Mac mac = macs.poll();
    if (mac != null) {
      return mac;
    }
    try {
      mac = Mac.getInstance("HmacSHA256");
      mac.init(spec);
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no HmacSHA256", e);
    }
  }
}
