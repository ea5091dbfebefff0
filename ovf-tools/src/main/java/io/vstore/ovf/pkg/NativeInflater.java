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

/**
 * A grain inflater backed by the system's libdeflate ({@code libdeflate.so.0}, through the FFM
 * API) instead of the JDK's zlib. A streamOptimized grain is one complete zlib stream of at most
 * one grain of output, which is what libdeflate's whole-buffer decompressor is for: it inflates
 * two to three times as fast as zlib and checks the Adler-32 with vector instructions, and
 * inflation is most of an import's CPU.
 *
 * <p>{@link #create} returns null when libdeflate is not there, or when the system property
 * {@code vstore.inflate.native} is {@code false}: callers then use {@link java.util.zip.Inflater}.
 * A stream libdeflate refuses is reported as {@code -1} without a reason (libdeflate gives none):
 * callers inflate it again with zlib for the message. Bytes are read from and written to the
 * caller's heap arrays in place (a critical downcall: no copy; one grain is tens of microseconds).
 * Not thread-safe: one per worker.
 */
final class NativeInflater implements AutoCloseable {
  private static final int SUCCESS = 0;
  /** zlib's stream of no bytes, which {@link #prime} inflates. */
  static final byte[] EMPTY_ZLIB = {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};

  private final MemorySegment decompressor;
  private final MemorySegment sizes; // two size_t results: bytes consumed, bytes produced
  private boolean closed;

  private NativeInflater(MemorySegment decompressor) {
    this.decompressor = decompressor;
    this.sizes = Arena.ofAuto().allocate(2 * JAVA_LONG.byteSize(), JAVA_LONG.byteAlignment());
  }

  /** Returns a new inflater, or null when libdeflate cannot be loaded or {@code vstore.inflate.native=false}. */
  static NativeInflater create() {
    if (!enabled()) {
      return null;
    }
    try {
      MemorySegment d = (MemorySegment) Functions.LOADED.alloc.invokeExact();
      if (d.equals(MemorySegment.NULL)) {
        throw new OutOfMemoryError("libdeflate: libdeflate_alloc_decompressor failed");
      }
      return new NativeInflater(d);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Starts linking libdeflate on a daemon thread (looking the library up, making the downcall
   * handles, one call on a tiny stream), so that the first disk's copy does not wait for it: on the
   * loaded 2-core VM the first FFM use of a process costs about 0.1 s.
   */
  static void prime() {
    Thread t = new Thread(() -> {
      if (!enabled()) {
        return; // the class initialization found no libdeflate (or it is turned off)
      }
      try (NativeInflater inflater = create()) {
        inflater.inflateZlib(EMPTY_ZLIB, 0, EMPTY_ZLIB.length, new byte[1], 0, 1);
      }
    }, "inflate-prime");
    t.setDaemon(true);
    t.start();
  }

  /** Returns whether {@link #create} makes libdeflate inflaters: libdeflate loaded and not turned off. */
  static boolean enabled() {
    // The property first: turned off, the library is not even looked up (no FFM work at all).
    return !"false".equals(System.getProperty("vstore.inflate.native")) && Functions.LOADED != null;
  }

  /**
   * Inflates the zlib stream (header, deflate data, Adler-32) in {@code in[off, off + len)} into
   * {@code out[outOff, outOff + outLen)} and checks its Adler-32; returns the bytes produced, or
   * -1 when the stream is bad, its checksum does not match or it inflates to more than
   * {@code outLen}. Bytes after the checksum are ignored.
   */
  int inflateZlib(byte[] in, int off, int len, byte[] out, int outOff, int outLen) {
    return call(Functions.LOADED.zlib, in, off, len, out, outOff, outLen);
  }

  /**
   * Inflates the raw deflate data in {@code in[off, off + len)} as {@link #inflateZlib} does, with
   * no header or checksum; {@link #consumed()} then tells where the data ended.
   */
  int inflateRaw(byte[] in, int off, int len, byte[] out, int outOff, int outLen) {
    return call(Functions.LOADED.raw, in, off, len, out, outOff, outLen);
  }

  /** Returns how many input bytes the last successful call used. */
  long consumed() {
    return sizes.get(JAVA_LONG, 0);
  }

  private int call(MethodHandle f, byte[] in, int off, int len, byte[] out, int outOff, int outLen) {
    java.util.Objects.checkFromIndexSize(off, len, in.length);
    java.util.Objects.checkFromIndexSize(outOff, outLen, out.length);
    if (closed) {
      throw new IllegalStateException("libdeflate inflater used after close");
    }
    try {
      int result = (int) f.invokeExact(decompressor, MemorySegment.ofArray(in).asSlice(off, len), (long) len,
          MemorySegment.ofArray(out).asSlice(outOff, outLen), (long) outLen, sizes, sizes.asSlice(JAVA_LONG.byteSize()));
      return result == SUCCESS ? (int) sizes.get(JAVA_LONG, JAVA_LONG.byteSize()) : -1;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Frees the decompressor; idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Functions.LOADED.free.invokeExact(decompressor);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("libdeflate call failed: " + t, t);
  }

  /** The libdeflate functions used, looked up once; null when the library is missing. */
  private record Functions(MethodHandle alloc, MethodHandle free, MethodHandle zlib, MethodHandle raw) {
    static final Functions LOADED = load();

    static Functions load() {
      SymbolLookup lib;
      try {
        lib = SymbolLookup.libraryLookup("libdeflate.so.0", Arena.global());
      } catch (IllegalArgumentException | IllegalCallerException | UnsupportedOperationException e) {
        return null; // no libdeflate (or no native access): zlib is used
      }
      Linker linker = Linker.nativeLinker();
      // enum libdeflate_result f(decompressor, in, in_nbytes, out, out_nbytes_avail, *actual_in, *actual_out)
      FunctionDescriptor decompress = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
          ADDRESS, ADDRESS);
      try {
        return new Functions(
            linker.downcallHandle(lib.findOrThrow("libdeflate_alloc_decompressor"), FunctionDescriptor.of(ADDRESS)),
            linker.downcallHandle(lib.findOrThrow("libdeflate_free_decompressor"), FunctionDescriptor.ofVoid(ADDRESS)),
            // critical: the bytes are read and written in place in the Java arrays, and a grain is short.
            linker.downcallHandle(lib.findOrThrow("libdeflate_zlib_decompress_ex"), decompress, Linker.Option.critical(true)),
            linker.downcallHandle(lib.findOrThrow("libdeflate_deflate_decompress_ex"), decompress,
                Linker.Option.critical(true)));
      } catch (java.util.NoSuchElementException e) {
        return null; // a libdeflate.so.0 without these functions (older than 1.0)
      }
    }
  }
}
