package io.vstore.backup.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under a repository's chunk-id key: the id of a chunk or page. Keyed so that equal data
 * in two repositories gets unrelated ids and an id reveals nothing about the data without the key.
 * Thread-safe: each call borrows a {@link Mac} from a small pool (not a thread-local, because callers
 * may be many short-lived virtual threads).
 *
 * <p>The pool belongs to the key, not to the hasher, and lives as long as the process: a daemon opens
 * the repository again for every job, and a new, empty pool made each job's first calls take the
 * path that creates a Mac, which the compiled code of the previous job had never seen; the JIT then
 * threw that code away and compiled the hash path again in the middle of the job (measured in an
 * incremental backup after a full one: {@code ChunkHasher.mac} deoptimised, {@code hash} recompiled
 * by C2). Keeping the key's Macs in memory is what the daemon already does with its key-encryption
 * keys; at most {@link #MAX_KEYS} keys are kept.
 */
public final class ChunkHasher {
  /** Bytes of an id. */
  public static final int ID_BYTES = 32;
  /** Keys whose Macs are kept; past it, the pools are dropped and refilled as used. */
  static final int MAX_KEYS = 64;

  private static final Map<ByteBuffer, ConcurrentLinkedQueue<Mac>> POOLS = new ConcurrentHashMap<>();

  private final SecretKeySpec spec;
  private final ConcurrentLinkedQueue<Mac> macs;

  /** Creates a hasher for the 32-byte {@code key} (copied). */
  public ChunkHasher(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("chunk-id key must be 32 bytes, not " + key.length);
    }
    this.spec = new SecretKeySpec(key.clone(), "HmacSHA256");
    if (POOLS.size() >= MAX_KEYS) {
      POOLS.clear(); // a process that went through many repositories: start again rather than grow
    }
    this.macs = POOLS.computeIfAbsent(ByteBuffer.wrap(key.clone()), k -> new ConcurrentLinkedQueue<>());
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
