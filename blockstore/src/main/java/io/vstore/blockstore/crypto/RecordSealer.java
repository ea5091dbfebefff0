package io.vstore.blockstore.crypto;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.concurrent.ArrayBlockingQueue;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Seals and opens the parts of records (a stored 4 KiB block, or a whole compressed chunk) with
 * AES-256-GCM under the data key, through the JDK's provider (AES-NI and carry-less multiply).
 *
 * <p><b>Nonces</b> never repeat under one key: a record reserves one nonce per part as a base
 * (an 8-byte random <i>epoch</i> and a 4-byte counter); part {@code j} uses the base with
 * {@code counter + j}. The counter only grows within an epoch, and an epoch is drawn at random
 * from 2^64 when a sealer is made (each datastore open) and whenever the counter would wrap, so
 * two sealings share a nonce only if two of the few epochs ever drawn collide. Nonces are not
 * derived from the record's place in its segment: a crash can leave a segment id reused after
 * its first file (never committed) was written, and a reused place must not mean a reused nonce.
 * The nonce base travels in the record's header, so the cleaner copies sealed records as they are.
 *
 * <p><b>Associated data</b> is the part's identity: the volume, the volume block of its first
 * block and the generation, all 24 bytes little-endian; a part moved to another record, volume or
 * block, or a record's header edited, fails to open.
 *
 * <p>Ciphers and scratch arrays are pooled (virtual threads make thread-locals a poor cache);
 * nothing is allocated per part except the JDK's parameter object. Parts go through heap arrays
 * whatever the caller's buffers are: the JDK's combined AES-GCM intrinsic runs on arrays, and on a
 * direct buffer it copies 512 bytes at a time through two arrays it allocates per call, which
 * made an open cost twice the two 4 KiB copies it takes here. {@link PartBatch} opens the many
 * parts of a large read on every core.
 */
public final class RecordSealer {
  /** The GCM tag length. */
  public static final int TAG_BYTES = 16;
  /** The nonce length. */
  public static final int NONCE_BYTES = 12;
  /** The largest part: an LZ4-compressed 64 KiB chunk may be up to its bound, 65,809 bytes. */
  public static final int MAX_PART_BYTES = 66 << 10;

  private final SecretKey key;
  private final ArrayBlockingQueue<Worker> workers = new ArrayBlockingQueue<>(64);
  /** Guarded by this. */
  private long epoch = Secrets.RANDOM.nextLong();
  /** Guarded by this: the next counter value of the epoch. */
  private long counter;

  RecordSealer(SecretKey key) {
    this.key = key;
  }

  /** Reserves {@code parts} nonces and writes their base into {@code nonce[at, at + 12)}. */
  public void reserve(int parts, byte[] nonce, int at) {
    if (parts <= 0 || parts > 1 << 16) {
      throw new IllegalArgumentException("parts " + parts);
    }
    long e;
    long c;
    synchronized (this) {
      if (counter + parts > 1L << 32) {
        epoch = Secrets.RANDOM.nextLong();
        counter = 0;
      }
      e = epoch;
      c = counter;
      counter += parts;
    }
    ByteBuffer.wrap(nonce, at, NONCE_BYTES).order(ByteOrder.BIG_ENDIAN).putLong(e).putInt((int) c);
  }

  /**
   * Encrypts the remaining bytes of {@code src} into {@code dst} at its position (the same bytes
   * may be passed for both: sealing in place) as part {@code part} of the record whose nonce base
   * is {@code nonce[nonceAt, +12)}, and puts the tag into {@code tags[tagAt, +16)}. Writes
   * nothing past the part in {@code dst}; advances neither buffer.
   */
  public void seal(ByteBuffer src, ByteBuffer dst, byte[] nonce, int nonceAt, int part, long volume, long block,
      long generation, byte[] tags, int tagAt) {
    int n = src.remaining();
    if (n > MAX_PART_BYTES) {
      throw new IllegalArgumentException("part of " + n + " bytes, more than " + MAX_PART_BYTES);
    }
    Worker w = borrow();
    try {
      // Through heap arrays: the JDK runs its combined AES-GCM intrinsic on arrays only; a direct
      // buffer costs it a copy per 512 bytes and two allocations per call.
      byte[] in = w.in;
      src.get(src.position(), in, 0, n);
      w.init(Cipher.ENCRYPT_MODE, key, nonce, nonceAt, part, volume, block, generation);
      int out = w.cipher.doFinal(in, 0, n, w.out, 0);
      assert out == n + TAG_BYTES;
      dst.put(dst.position(), w.out, 0, n);
      System.arraycopy(w.out, n, tags, tagAt, TAG_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM sealing failed", e);
    } finally {
      workers.offer(w);
    }
  }

  /**
   * Decrypts in place the remaining bytes of {@code data}, part {@code part} of the record whose
   * nonce base is {@code nonce[nonceAt, +12)}, checking the tag {@code tags[tagAt, +16)} and the
   * associated data; returns false when they do not match, and then clears {@code data} rather
   * than leave bytes that failed authentication where a caller might use them. Advances nothing.
   */
  public boolean open(ByteBuffer data, byte[] nonce, int nonceAt, int part, long volume, long block, long generation,
      byte[] tags, int tagAt) {
    int n = data.remaining();
    if (n > MAX_PART_BYTES) {
      return false;
    }
    Worker w = borrow();
    try {
      return open(w, data, data.position(), n, nonce, nonceAt, part, volume, block, generation, tags, tagAt);
    } finally {
      workers.offer(w);
    }
  }

  /** Opens {@code data[at, at + n)} in place with worker {@code w}; see {@link #open(ByteBuffer, byte[], int, int, long, long, long, byte[], int)}. */
  boolean open(Worker w, ByteBuffer data, int at, int n, byte[] nonce, int nonceAt, int part, long volume, long block,
      long generation, byte[] tags, int tagAt) {
    try {
      // GCM wants ciphertext and tag back to back in one heap array (its combined intrinsic runs
      // on arrays; a direct buffer costs it a copy per 512 bytes); the tag lives in the header.
      byte[] in = w.in;
      data.get(at, in, 0, n);
      System.arraycopy(tags, tagAt, in, n, TAG_BYTES);
      w.init(Cipher.DECRYPT_MODE, key, nonce, nonceAt, part, volume, block, generation);
      if (data.hasArray()) {
        w.cipher.doFinal(in, 0, n + TAG_BYTES, data.array(), data.arrayOffset() + at);
      } else {
        w.cipher.doFinal(in, 0, n + TAG_BYTES, w.out, 0);
        data.put(at, w.out, 0, n);
      }
      return true;
    } catch (AEADBadTagException e) {
      clear(data, at, n);
      return false;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM opening failed", e);
    }
  }

  private static void clear(ByteBuffer data, int at, int n) {
    for (int i = 0; i < n; i++) {
      data.put(at + i, (byte) 0);
    }
  }

  /** Takes a worker for {@link PartBatch}, which opens many parts with one. */
  Worker borrowWorker() {
    return borrow();
  }

  /** Gives back a worker from {@link #borrowWorker}. */
  void giveBack(Worker w) {
    workers.offer(w);
  }

  private Worker borrow() {
    Worker w = workers.poll();
    return w != null ? w : new Worker();
  }

  /** A cipher with its scratch arrays, used by one thread at a time. */
  static final class Worker {
    final Cipher cipher;
    /** A part's ciphertext and tag (opening) or plaintext (sealing). */
    final byte[] in = new byte[MAX_PART_BYTES + TAG_BYTES];
    /** A part's plaintext (opening into a direct buffer) or ciphertext and tag (sealing). */
    final byte[] out = new byte[MAX_PART_BYTES + TAG_BYTES];
    final byte[] iv = new byte[NONCE_BYTES];
    final byte[] aad = new byte[24];
    final ByteBuffer aadView = ByteBuffer.wrap(aad).order(ByteOrder.LITTLE_ENDIAN);

    Worker() {
      try {
        cipher = Cipher.getInstance("AES/GCM/NoPadding");
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("AES-GCM is not available", e);
      }
    }

    void init(int mode, SecretKey key, byte[] nonce, int nonceAt, int part, long volume, long block, long generation)
        throws GeneralSecurityException {
      System.arraycopy(nonce, nonceAt, iv, 0, 8);
      int counter = ByteBuffer.wrap(nonce, nonceAt + 8, 4).order(ByteOrder.BIG_ENDIAN).getInt() + part;
      ByteBuffer.wrap(iv, 8, 4).order(ByteOrder.BIG_ENDIAN).putInt(counter);
      cipher.init(mode, key, new GCMParameterSpec(TAG_BYTES * 8, iv));
      aadView.putLong(0, volume).putLong(8, block).putLong(16, generation);
      cipher.updateAAD(aad);
    }
  }
}
