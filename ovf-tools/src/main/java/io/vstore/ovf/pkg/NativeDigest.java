package io.vstore.ovf.pkg;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.security.MessageDigest;

/**
 * A manifest digest computed by the system's OpenSSL library (libcrypto 3, through the FFM API)
 * instead of the JDK's Java code. The JDK's SHA digests use the CPU's SHA instructions only once
 * C2 has compiled them, so an {@code ovf} command had to run C2, whose own compile work was a
 * quarter of an import's CPU; libcrypto uses the SHA instructions from the first byte whatever
 * the JIT (measured on the 2-core VM: JDK SHA-256 17 MB/s under C1 and about 1.05 GB/s under C2
 * after ~150 MiB of warm-up; libcrypto 1.1 GB/s under C1 from the start).
 *
 * <p>{@link #create} returns null when libcrypto 3 is not there, or when the system property
 * {@code vstore.digest.native} is {@code false}: callers then use the JDK's digest. Bytes are
 * passed straight from the caller's heap array (a critical downcall: no copy); the calls are made
 * with blocks of at most 1 MiB (~1 ms), which is as long as such a call holds up a safepoint.
 * Like every {@code MessageDigest}, an instance is not thread-safe but may move between threads.
 */
final class NativeDigest extends MessageDigest {
  private static final Cleaner CLEANER = Cleaner.create();
  private static final Functions FUNCTIONS = Functions.load();

  private final MemorySegment md; // the EVP_MD, owned by libcrypto
  private final MemorySegment ctx; // freed by the cleaner once this digest is unreachable
  private final MemorySegment out;
  private final int length;

  private NativeDigest(String algorithm, MemorySegment md, int length) {
    super(algorithm);
    this.md = md;
    this.length = length;
    this.out = Arena.ofAuto().allocate(64);
    try {
      MemorySegment c = (MemorySegment) FUNCTIONS.ctxNew.invokeExact();
      if (c.equals(MemorySegment.NULL)) {
        throw new OutOfMemoryError("libcrypto: EVP_MD_CTX_new failed");
      }
      this.ctx = c;
      CLEANER.register(this, new Free(c));
    } catch (Throwable t) {
      throw rethrow(t);
    }
    engineReset();
  }

  /**
   * Returns a digest of {@code javaName} ("SHA-1", "SHA-256", "SHA-512") computed by libcrypto, or
   * null when libcrypto 3 cannot be loaded or {@code vstore.digest.native=false}.
   */
  static MessageDigest create(String javaName) {
    if (!enabled()) {
      return null;
    }
    MethodHandle algorithm = switch (javaName) {
      case "SHA-1" -> FUNCTIONS.sha1;
      case "SHA-256" -> FUNCTIONS.sha256;
      case "SHA-512" -> FUNCTIONS.sha512;
      default -> throw new IllegalArgumentException("no native digest " + javaName);
    };
    try {
      MemorySegment md = (MemorySegment) algorithm.invokeExact();
      return new NativeDigest(javaName, md, switch (javaName) {
        case "SHA-1" -> 20;
        case "SHA-256" -> 32;
        default -> 64;
      });
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Returns whether {@link #create} makes libcrypto's digests: libcrypto 3 loaded and not turned off. */
  static boolean enabled() {
    return FUNCTIONS != null && !"false".equals(System.getProperty("vstore.digest.native"));
  }

  @Override
  protected void engineUpdate(byte input) {
    engineUpdate(new byte[] {input}, 0, 1);
  }

  @Override
  protected void engineUpdate(byte[] input, int offset, int len) {
    java.util.Objects.checkFromIndexSize(offset, len, input.length);
    if (len == 0) {
      return;
    }
    try {
      int ok = (int) FUNCTIONS.update.invokeExact(ctx, MemorySegment.ofArray(input).asSlice(offset, len), (long) len);
      check(ok, "EVP_DigestUpdate");
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  protected byte[] engineDigest() {
    try {
      int ok = (int) FUNCTIONS.finish.invokeExact(ctx, out, MemorySegment.NULL);
      check(ok, "EVP_DigestFinal_ex");
    } catch (Throwable t) {
      throw rethrow(t);
    }
    byte[] result = out.asSlice(0, length).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    engineReset(); // MessageDigest's contract: digest() leaves it ready for new data
    return result;
  }

  @Override
  protected void engineReset() {
    try {
      int ok = (int) FUNCTIONS.init.invokeExact(ctx, md, MemorySegment.NULL);
      check(ok, "EVP_DigestInit_ex");
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  protected int engineGetDigestLength() {
    return length;
  }

  private static void check(int ok, String call) {
    if (ok != 1) {
      throw new IllegalStateException("libcrypto: " + call + " failed");
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("libcrypto call failed: " + t, t);
  }

  /** Frees a context; holds no reference to its digest, so that the digest can become unreachable. */
  private record Free(MemorySegment ctx) implements Runnable {
    @Override
    public void run() {
      try {
        FUNCTIONS.ctxFree.invokeExact(ctx);
      } catch (Throwable t) {
        // Nothing to do about a failed free in a cleaner thread.
      }
    }
  }

  /** The libcrypto functions used, looked up once; null when the library is missing. */
  private record Functions(MethodHandle ctxNew, MethodHandle ctxFree, MethodHandle init, MethodHandle update,
      MethodHandle finish, MethodHandle sha1, MethodHandle sha256, MethodHandle sha512) {
    static Functions load() {
      SymbolLookup lib;
      try {
        lib = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
      } catch (IllegalArgumentException | IllegalCallerException | UnsupportedOperationException e) {
        return null; // no libcrypto 3 (or no native access): the JDK's digests are used
      }
      Linker linker = Linker.nativeLinker();
      try {
        return new Functions(
            linker.downcallHandle(lib.findOrThrow("EVP_MD_CTX_new"), FunctionDescriptor.of(ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("EVP_MD_CTX_free"), FunctionDescriptor.ofVoid(ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("EVP_DigestInit_ex"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS)),
            // critical: the bytes are read in place from the Java array, and the call is short.
            linker.downcallHandle(lib.findOrThrow("EVP_DigestUpdate"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
                Linker.Option.critical(true)),
            linker.downcallHandle(lib.findOrThrow("EVP_DigestFinal_ex"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("EVP_sha1"), FunctionDescriptor.of(ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("EVP_sha256"), FunctionDescriptor.of(ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("EVP_sha512"), FunctionDescriptor.of(ADDRESS)));
      } catch (java.util.NoSuchElementException e) {
        return null; // a libcrypto.so.3 without these functions: not OpenSSL's
      }
    }
  }
}
