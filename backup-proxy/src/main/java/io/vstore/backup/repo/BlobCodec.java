package io.vstore.backup.repo;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.ChunkHasher;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.crypto.AEADBadTagException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Turns a chunk into the blob stored in a pack and back. A blob's plain form is one codec byte (0
 * raw, 1 zstd, 2 lz4) and the data; an encrypted repository stores it sealed with the data key
 * ({@code nonce || ciphertext || tag}) with the chunk id as associated data, so a blob moved to
 * another id fails. A chunk that does not shrink is stored raw. Reading re-hashes the plaintext:
 * unencrypted blobs are protected by that (and the trailer's CRC32C for {@code verify}).
 *
 * <p>Thread-safe; scratch buffers come from a pool so that encoding allocates nothing per call.
 */
final class BlobCodec {
  static final int RAW = 0;
  static final int ZSTD = 1;
  static final int LZ4 = 2;

  private static final LZ4Compressor LZ4_COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
  private static final LZ4SafeDecompressor LZ4_DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();
  /**
   * Zstandard compression contexts of the process, at most as many as chunks were ever compressed at
   * once, never freed. {@code Zstd.compressByteArray} allocated and initialised a context (its match
   * tables) for every 64 KiB chunk; per process rather than per codec because a context holds native
   * memory that nothing would free when a repository (opened anew by every daemon job) is dropped.
   */
  private static final ConcurrentLinkedQueue<ZstdCompressCtx> ZSTD_CONTEXTS = new ConcurrentLinkedQueue<>();
  /**
   * Scratch buffers of the process by chunk size: a daemon opens the repository again for every job,
   * and a codec's own, empty pool made each job's first encodes take the allocating path, which the
   * previous job's compiled code had never seen (the JIT deoptimised {@link #borrow} mid-job). Bounded
   * as the Zstandard contexts are: at most as many as were ever in use at once, per chunk size.
   */
  private static final Map<Integer, ConcurrentLinkedQueue<Scratch>> SCRATCH = new ConcurrentHashMap<>();

  private final Compression compression;
  private final Aead dataKey;
  private final ChunkHasher hasher;
  private final int maxPlain;
  private final ConcurrentLinkedQueue<Scratch> pool;

  /** Per-call buffers: the encoded blob is in {@link #out}, {@link #length} bytes. */
  static final class Scratch {
    final byte[] plain;
    final byte[] packed;
    final byte[] out;
    int length;

    Scratch(int maxPlain) {
      plain = new byte[maxPlain];
      int bound = (int) Math.max(Zstd.compressBound(maxPlain), LZ4_COMPRESSOR.maxCompressedLength(maxPlain));
      packed = new byte[1 + bound];
      out = new byte[1 + bound + Aead.OVERHEAD];
    }
  }

  BlobCodec(Compression compression, Aead dataKey, ChunkHasher hasher, int maxPlain) {
    this.compression = compression;
    this.dataKey = dataKey;
    this.hasher = hasher;
    this.maxPlain = maxPlain;
    this.pool = SCRATCH.computeIfAbsent(maxPlain, n -> new ConcurrentLinkedQueue<>());
  }

  /** Returns the largest blob a chunk of {@code plainLength} bytes can become. */
  static int maxStored(int plainLength) {
    return 1 + plainLength + Aead.OVERHEAD;
  }

  Scratch borrow() {
    Scratch s = pool.poll();
    return s != null ? s : new Scratch(maxPlain);
  }

  void release(Scratch s) {
    pool.offer(s);
  }

  /** Encodes the remaining bytes of {@code plain} (position not moved) into {@code s.out}. */
  void encode(ChunkId id, ByteBuffer plain, Scratch s) {
    int n = plain.remaining();
    if (n > maxPlain) {
      throw new IllegalArgumentException("chunk of " + n + " bytes is larger than the chunk size " + maxPlain);
    }
    byte[] src;
    int srcOff;
    if (plain.hasArray()) {
      src = plain.array();
      srcOff = plain.arrayOffset() + plain.position();
    } else {
      plain.duplicate().get(s.plain, 0, n);
      src = s.plain;
      srcOff = 0;
    }
    int packedLength = compress(src, srcOff, n, s.packed);
    byte[] blob;
    if (packedLength > 0 && packedLength + 1 < n + 1) {
      blob = s.packed;
      packedLength += 1;
    } else {
      // Does not shrink: store raw, and never pay a decompression for it.
      blob = dataKey == null ? s.out : s.packed;
      blob[0] = RAW;
      System.arraycopy(src, srcOff, blob, 1, n);
      packedLength = 1 + n;
    }
    if (dataKey == null) {
      if (blob != s.out) {
        System.arraycopy(blob, 0, s.out, 0, packedLength);
      }
      s.length = packedLength;
    } else {
      s.length = dataKey.seal(blob, 0, packedLength, id.bytesUnsafe(), s.out, 0);
    }
  }

  /** Compresses into {@code dst} from index 1 (index 0 gets the codec byte); returns the data length or 0. */
  private int compress(byte[] src, int off, int n, byte[] dst) {
    switch (compression) {
      case ZSTD, ZSTD3 -> {
        ZstdCompressCtx ctx = ZSTD_CONTEXTS.poll();
        if (ctx == null) {
          ctx = new ZstdCompressCtx();
        }
        try {
          int r = ctx.setLevel(compression == Compression.ZSTD ? 1 : 3).compressByteArray(dst, 1, dst.length - 1, src,
              off, n);
          dst[0] = ZSTD;
          return r;
        } catch (ZstdException e) {
          return 0; // stored raw; the destination is compressBound-sized, so not expected
        } finally {
          ZSTD_CONTEXTS.offer(ctx);
        }
      }
      case LZ4 -> {
        int r = LZ4_COMPRESSOR.compress(src, off, n, dst, 1, dst.length - 1);
        dst[0] = LZ4;
        return r;
      }
      default -> {
        return 0;
      }
    }
  }

  /**
   * Decodes a stored blob of chunk {@code id} and returns its verified plaintext in an array of its
   * own: re-hashed always ({@code verify}), or on reads only when the repository is not encrypted. An
   * encrypted blob is sealed with its chunk id as associated data, so a blob altered, or moved to
   * another id, already fails authentication; hashing its plaintext again would check only that the
   * writer computed the id it sealed under, and costs as much CPU as the decryption (restores are
   * bound by it).
   *
   * @param packKey and {@code packOffset} name where the blob lies, for error messages
   */
  ByteBuffer decode(ChunkId id, byte[] stored, int offset, int length, int plainLength, String packKey,
      long packOffset) throws CorruptObjectException {
    return decode(id, stored, offset, length, plainLength, packKey, packOffset, dataKey == null);
  }

  /** As {@link #decode(ChunkId, byte[], int, int, int, String, long)}, re-hashing the plaintext when {@code rehash}. */
  ByteBuffer decode(ChunkId id, byte[] stored, int offset, int length, int plainLength, String packKey,
      long packOffset, boolean rehash) throws CorruptObjectException {
    checkPlainLength(id, plainLength, packKey, packOffset);
    byte[] plain = new byte[plainLength];
    byte[] opened = dataKey == null ? null : new byte[Math.max(0, length - Aead.OVERHEAD)];
    ByteBuffer out = decode(id, stored, offset, length, plainLength, packKey, packOffset, rehash, opened, plain, null);
    if (out.array() != plain) {
      out.get(plain); // a raw blob: the caller owns what it gets, not a view of the pack range
    }
    return ByteBuffer.wrap(plain);
  }

  /**
   * Decodes as {@link #decode(ChunkId, byte[], int, int, int, String, long)} into the caller's
   * buffers, allocating nothing: the plaintext returned is a view of {@code opened} (a raw blob that
   * was encrypted), of {@code stored} (a raw blob that was not) or of {@code plain}, valid until they
   * are reused. {@code opened} must hold the blob decrypted ({@code length - }{@link Aead#OVERHEAD}
   * bytes) when the repository is encrypted, {@code plain} the plaintext; {@code zstd} (a context
   * reused by one thread) may be null.
   */
  ByteBuffer decode(ChunkId id, byte[] stored, int offset, int length, int plainLength, String packKey,
      long packOffset, boolean rehash, byte[] opened, byte[] plain, ZstdDecompressCtx zstd)
      throws CorruptObjectException {
    checkPlainLength(id, plainLength, packKey, packOffset);
    byte[] blob = stored;
    int blobOff = offset;
    int blobLen = length;
    if (dataKey != null) {
      try {
        blobLen = dataKey.open(stored, offset, length, id.bytesUnsafe(), opened, 0);
      } catch (AEADBadTagException e) {
        throw corrupt(packKey, packOffset, id, "authentication failed (blob altered or moved)");
      }
      blob = opened;
      blobOff = 0;
    }
    if (blobLen < 1) {
      throw corrupt(packKey, packOffset, id, "empty blob");
    }
    int codec = blob[blobOff];
    int dataOff = blobOff + 1;
    int dataLen = blobLen - 1;
    byte[] out = plain;
    int outOff = 0;
    int got;
    try {
      got = switch (codec) {
        case RAW -> {
          out = blob; // the plaintext as stored: no copy
          outOff = dataOff;
          yield dataLen;
        }
        case ZSTD -> {
          if (zstd != null) {
            yield zstd.decompressByteArray(plain, 0, plainLength, blob, dataOff, dataLen);
          }
          long r = Zstd.decompressByteArray(plain, 0, plainLength, blob, dataOff, dataLen);
          if (Zstd.isError(r)) {
            throw corrupt(packKey, packOffset, id, "zstd: " + Zstd.getErrorName(r));
          }
          yield (int) r;
        }
        case LZ4 -> LZ4_DECOMPRESSOR.decompress(blob, dataOff, dataLen, plain, 0, plainLength);
        default -> throw corrupt(packKey, packOffset, id, "unknown codec " + codec + " in blob header");
      };
    } catch (CorruptObjectException e) {
      throw e;
    } catch (RuntimeException e) {
      throw corrupt(packKey, packOffset, id, "cannot decompress: " + e.getMessage());
    }
    if (got != plainLength) {
      throw corrupt(packKey, packOffset, id, "decoded " + got + " bytes, the index says " + plainLength);
    }
    if (rehash) {
      byte[] actual = hasher.hash(out, outOff, plainLength);
      if (!MessageDigest.isEqual(actual, id.bytesUnsafe())) {
        throw corrupt(packKey, packOffset, id, "plaintext hashes to " + Hex.of(actual).substring(0, 16) + "…");
      }
    }
    return ByteBuffer.wrap(out, outOff, plainLength);
  }

  private void checkPlainLength(ChunkId id, int plainLength, String packKey, long packOffset)
      throws CorruptObjectException {
    if (plainLength < 1 || plainLength > maxPlain) {
      throw corrupt(packKey, packOffset, id, "plain length " + plainLength + " out of range 1.." + maxPlain);
    }
  }

  /** Returns the largest plaintext of a chunk of this repository. */
  int maxPlain() {
    return maxPlain;
  }

  /** Returns whether blobs are sealed (then a decode needs a buffer for the opened blob). */
  boolean encrypted() {
    return dataKey != null;
  }

  private static CorruptObjectException corrupt(String packKey, long packOffset, ChunkId id, String detail) {
    return new CorruptObjectException("bad backup repository: chunk " + id.hex() + " in pack " + packKey + " at "
        + packOffset + ": " + detail);
  }
}
