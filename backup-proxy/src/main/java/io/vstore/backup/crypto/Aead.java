package io.vstore.backup.crypto;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a random 12-byte nonce per message: a sealed message is {@code nonce ||
 * ciphertext || tag}, {@link #OVERHEAD} bytes longer than the plaintext. Random nonces are safe far
 * beyond what one repository seals (2^32 messages per key keeps the collision chance below 2^-32).
 *
 * <p>Thread-safe: a call takes a {@link Cipher} from a small pool and returns it, because a Cipher is
 * stateful and creating one per call costs more than sealing a small object. A pool rather than a
 * thread-local: the engine may call from many short-lived virtual threads.
 */
public final class Aead {
  /** Bytes of the nonce that starts every sealed message. */
  public static final int NONCE_BYTES = 12;
  /** Bytes of the GCM tag at the end of every sealed message. */
  public static final int TAG_BYTES = 16;
  /** Bytes a sealed message adds to its plaintext. */
  public static final int OVERHEAD = NONCE_BYTES + TAG_BYTES;
  /** Bytes of a key. */
  public static final int KEY_BYTES = 32;

  // DRBG rather than the default NativePRNG: no read of /dev/urandom and no global lock per nonce
  // (NativePRNG took ~50 us per 12-byte nonce on the build machine), seeded from the OS once.
  private static final SecureRandom RANDOM = drbg();
  private static final ConcurrentLinkedQueue<Cipher> CIPHERS = new ConcurrentLinkedQueue<>();

  private final SecretKeySpec key;

  /** Creates a sealer for the 32-byte {@code key} (copied). */
  public Aead(byte[] key) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException("AES-256 key must be 32 bytes, not " + key.length);
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
  }

  /** Returns {@code n} bytes from the shared strong random source. */
  public static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Returns {@code plaintext} sealed with a fresh nonce, authenticating {@code aad} too. */
  public byte[] seal(byte[] plaintext, int offset, int length, byte[] aad) {
    byte[] out = new byte[length + OVERHEAD];
    seal(plaintext, offset, length, aad, out, 0);
    return out;
  }

  /**
   * Seals {@code length} bytes of {@code src} into {@code dst} at {@code dstOffset} (which needs
   * {@code length + OVERHEAD} bytes) and returns the sealed length.
   */
  public int seal(byte[] src, int offset, int length, byte[] aad, byte[] dst, int dstOffset) {
    Objects.checkFromIndexSize(offset, length, src.length);
    Objects.checkFromIndexSize(dstOffset, length + OVERHEAD, dst.length);
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    System.arraycopy(nonce, 0, dst, dstOffset, NONCE_BYTES);
    Cipher c = cipher();
    try {
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, nonce));
      if (aad != null) {
        c.updateAAD(aad);
      }
      return NONCE_BYTES + c.doFinal(src, offset, length, dst, dstOffset + NONCE_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM seal failed", e);
    } finally {
      CIPHERS.offer(c);
    }
  }

  /**
   * Opens a sealed message and returns its plaintext.
   *
   * @throws AEADBadTagException if the message, its nonce or {@code aad} was altered, or the key is
   *     another one
   */
  public byte[] open(byte[] sealed, int offset, int length, byte[] aad) throws AEADBadTagException {
    if (length < OVERHEAD) {
      throw new AEADBadTagException("sealed message of " + length + " bytes is shorter than " + OVERHEAD);
    }
    byte[] out = new byte[length - OVERHEAD];
    open(sealed, offset, length, aad, out, 0);
    return out;
  }

  /**
   * Opens {@code length} sealed bytes of {@code src} into {@code dst} at {@code dstOffset} (which
   * needs {@code length - OVERHEAD} bytes) and returns the plaintext length.
   *
   * @throws AEADBadTagException if the message was altered or sealed with another key or aad
   */
  public int open(byte[] src, int offset, int length, byte[] aad, byte[] dst, int dstOffset)
      throws AEADBadTagException {
    Objects.checkFromIndexSize(offset, length, src.length);
    if (length < OVERHEAD) {
      throw new AEADBadTagException("sealed message of " + length + " bytes is shorter than " + OVERHEAD);
    }
    Objects.checkFromIndexSize(dstOffset, length - OVERHEAD, dst.length);
    Cipher c = cipher();
    try {
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BYTES * 8, Arrays.copyOfRange(src, offset, offset + NONCE_BYTES)));
      if (aad != null) {
        c.updateAAD(aad);
      }
      return c.doFinal(src, offset + NONCE_BYTES, length - NONCE_BYTES, dst, dstOffset);
    } catch (AEADBadTagException e) {
      throw e;
    } catch (GeneralSecurityException e) {
      throw new AEADBadTagException("AES-GCM open failed: " + e.getMessage());
    } finally {
      CIPHERS.offer(c);
    }
  }

  private static Cipher cipher() {
    Cipher c = CIPHERS.poll();
    if (c != null) {
      return c;
    }
    try {
      return Cipher.getInstance("AES/GCM/NoPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no AES/GCM/NoPadding", e);
    }
  }

  private static SecureRandom drbg() {
    try {
      return SecureRandom.getInstance("DRBG");
    } catch (java.security.NoSuchAlgorithmException e) {
      return new SecureRandom();
    }
  }
}
