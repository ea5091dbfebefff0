package io.vstore.backup.repo;

import com.github.luben.zstd.Zstd;
import io.vstore.backup.crypto.Aead;
import io.vstore.backup.crypto.ChunkHasher;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntSupplier;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Measures this machine's speed at what a backup does to each 64 KiB chunk, on one thread: the
 * keyed hash, zstd and LZ4 both ways, AES-256-GCM both ways ({@code vstore backup bench}, in the
 * manner of {@code proxmox-backup-client benchmark}).
 */
public final class Speeds {
  /** One measurement: what, on which data, MB/s (10^6 bytes per second) of plaintext, and the size ratio. */
  public record Result(String operation, String data, double mbPerSecond, double ratio) {}

  private Speeds() {}

  /** Returns a chunk of text-like data (words with some variation) or VM-like data (a mix of zeros, text, random). */
  public static byte[] sample(String kind, int size, long seed) {
    Random r = new Random(seed);
    byte[] b = new byte[size];
    byte[] words = "the quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, 0123456789\n"
        .getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < size; ) {
      int run = Math.min(size - i, 512 + r.nextInt(2048));
      int mode = kind.equals("text") ? 1 : r.nextInt(4);
      for (int j = 0; j < run; j++) {
        b[i + j] = switch (mode) {
          case 0 -> 0;
          case 1 -> words[(i + j + r.nextInt(2)) % words.length];
          case 2 -> (byte) (0x40 + ((i + j) % 16));
          default -> (byte) r.nextInt();
        };
      }
      i += run;
    }
    return b;
  }

  /** Runs every measurement for about {@code millisEach} ms and returns the results. */
  public static List<Result> measure(long millisEach) {
    List<Result> out = new ArrayList<>();
    int size = 64 * 1024;
    byte[] key = Aead.randomBytes(32);
    ChunkHasher hasher = new ChunkHasher(key);
    Aead aead = new Aead(key);
    LZ4Compressor lz4 = LZ4Factory.fastestInstance().fastCompressor();
    LZ4SafeDecompressor unlz4 = LZ4Factory.fastestInstance().safeDecompressor();
    for (String kind : List.of("text", "vm")) {
      byte[] plain = sample(kind, size, 7);
      byte[] packed = new byte[(int) Zstd.compressBound(size)];
      byte[] back = new byte[size];
      out.add(new Result("HMAC-SHA256", kind, rate(millisEach, size, () -> hasher.hash(plain, 0, size).length), 1));
      for (int level : new int[] {1, 3}) {
        int n = (int) Zstd.compressByteArray(packed, 0, packed.length, plain, 0, size, level);
        byte[] comp = java.util.Arrays.copyOf(packed, n);
        out.add(new Result("zstd-" + level + " compress", kind, rate(millisEach, size,
            () -> (int) Zstd.compressByteArray(packed, 0, packed.length, plain, 0, size, level)), (double) size / n));
        out.add(new Result("zstd-" + level + " decompress", kind, rate(millisEach, size,
            () -> (int) Zstd.decompressByteArray(back, 0, size, comp, 0, comp.length)), (double) size / n));
      }
      int n = lz4.compress(plain, 0, size, packed, 0, packed.length);
      byte[] comp = java.util.Arrays.copyOf(packed, n);
      out.add(new Result("LZ4 compress", kind, rate(millisEach, size,
          () -> lz4.compress(plain, 0, size, packed, 0, packed.length)), (double) size / n));
      out.add(new Result("LZ4 decompress", kind, rate(millisEach, size,
          () -> unlz4.decompress(comp, 0, comp.length, back, 0, size)), (double) size / n));
    }
    byte[] plain = sample("vm", size, 9);
    byte[] sealedBuf = new byte[size + Aead.OVERHEAD];
    byte[] opened = new byte[size];
    int sealedLength = aead.seal(plain, 0, size, null, sealedBuf, 0);
    // Many small calls first: the JIT compiles GCM's intrinsics by call count, and 64 KiB calls on
    // a busy machine take many seconds to reach it (the first second ran at ~10 MB/s).
    byte[] small = new byte[256 + Aead.OVERHEAD];
    for (int i = 0; i < 15_000; i++) {
      aead.seal(plain, 0, 256, null, small, 0);
    }
    out.add(new Result("AES-256-GCM seal", "any", rate(millisEach, size,
        () -> aead.seal(plain, 0, size, null, sealedBuf, 0)), 1));
    out.add(new Result("AES-256-GCM open", "any", rate(millisEach, size, () -> {
      try {
        return aead.open(sealedBuf, 0, sealedLength, null, opened, 0);
      } catch (javax.crypto.AEADBadTagException e) {
        throw new IllegalStateException(e);
      }
    }), 1));
    return out;
  }

  /**
   * Returns MB/s of {@code op}: a warm-up until the speed of 100 ms windows stops rising (the JIT's
   * AES-GCM and HMAC intrinsics arrive late on a busy machine; capped at 10 s) and at least half
   * the time, then the best of three windows of a third each.
   */
  private static double rate(long millis, int bytesPerCall, IntSupplier op) {
    long warmStart = System.nanoTime();
    long cap = warmStart + 10_000_000_000L;
    int sink = 0;
    double previous = 0;
    while (true) {
      long start = System.nanoTime();
      long calls = 0;
      long now;
      do {
        sink += op.getAsInt();
        calls++;
        now = System.nanoTime();
      } while (now < start + 100_000_000L);
      double speed = calls / ((now - start) / 1e9);
      boolean stable = speed < previous * 1.1;
      previous = Math.max(previous, speed);
      if (now > cap || (stable && now - warmStart >= millis * 1_000_000L / 2)) {
        break;
      }
    }
    double best = 0;
    for (int window = 0; window < 3; window++) {
      long start = System.nanoTime();
      long end = start + millis * 1_000_000L / 3;
      long calls = 0;
      long now;
      do {
        sink += op.getAsInt();
        calls++;
        now = System.nanoTime();
      } while (now < end);
      best = Math.max(best, calls * (double) bytesPerCall / ((now - start) / 1e9) / 1e6);
    }
    if (sink == 42) {
      System.out.print("");
    }
    return best;
  }
}
