package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vstore.blockstore.testing.ModelRun;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * libdeflate's inflation against the JDK's zlib on the same streams: seeded random grains (random
 * bytes, text, zeros, runs; every compression level and strategy; 1 byte to 64 KiB; at odd offsets
 * of larger arrays), intact and then damaged (a flipped byte, a cut, a bad checksum). Intact, both
 * give the same bytes and libdeflate tells where the deflate data ended; damaged and checked,
 * libdeflate accepts exactly what zlib accepts, and the same bytes. Skipped where libdeflate is
 * absent (the zlib path alone is what {@link GrainPipelineTest} then checks).
 */
final class NativeInflaterTest {
  private static final int MAX = 64 * 1024;

  static LongStream seeds() {
    return ModelRun.seeds(30);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void agreesWithZlib(long seed) throws Exception {
    assumeTrue(NativeInflater.enabled(), "libdeflate.so.0 not found");
    ModelRun.run(seed, run -> {
      Random r = run.random();
      try (NativeInflater real = NativeInflater.create()) {
        Inflater model = new Inflater();
        Deflater deflater = new Deflater();
        try {
          for (int step = 0; step < 60; step++) {
            byte[] data = content(r, 1 + r.nextInt(r.nextBoolean() ? MAX : 600));
            int level = r.nextInt(10);
            int strategy = r.nextInt(3);
            deflater.reset();
            deflater.setLevel(level);
            deflater.setStrategy(strategy);
            deflater.setInput(data);
            deflater.finish();
            int pad = r.nextInt(9);
            byte[] stream = new byte[pad + data.length + data.length / 8 + 1024];
            int len = 0;
            // A change of level or strategy makes the first call return once the parameters are set.
            for (int i = 0; i < 3 && !deflater.finished(); i++) {
              len += deflater.deflate(stream, pad + len, stream.length - pad - len);
            }
            assertThat(deflater.finished()).isTrue();
            int room = data.length + (r.nextBoolean() ? 0 : r.nextInt(100));
            run.step(step, data.length + " bytes, level " + level + ", strategy " + strategy + ", " + len + " compressed");

            byte[] out = new byte[room + 7];
            assertThat(real.inflateZlib(stream, pad, len, out, 7, room)).isEqualTo(data.length);
            assertThat(Arrays.copyOfRange(out, 7, 7 + data.length)).isEqualTo(data);
            Arrays.fill(out, (byte) 0);
            assertThat(real.inflateRaw(stream, pad + 2, len - 2, out, 0, room)).isEqualTo(data.length);
            assertThat(real.consumed()).as("deflate data ends before the checksum").isEqualTo(len - 6);
            assertThat(Arrays.copyOf(out, data.length)).isEqualTo(data);
            if (data.length > 1) {
              assertThat(real.inflateZlib(stream, pad, len, out, 0, data.length - 1)).as("one byte short of room").isEqualTo(-1);
            }

            int how = r.nextInt(3);
            byte[] bad = stream.clone();
            int badLen = len;
            switch (how) {
              case 0 -> bad[pad + 2 + r.nextInt(len - 2)] ^= (byte) (1 << r.nextInt(8));
              case 1 -> badLen = 2 + r.nextInt(len - 2);
              default -> bad[pad + len - 1 - r.nextInt(4)] ^= (byte) (1 + r.nextInt(255));
            }
            run.step(step, "damaged (" + new String[] {"flip", "cut", "checksum"}[how] + "), " + badLen + " bytes");
            byte[] expected = zlib(model, bad, pad, badLen, room);
            int n = real.inflateZlib(bad, pad, badLen, out, 0, room);
            if (expected == null) {
              assertThat(n).as("libdeflate accepts what zlib refuses").isEqualTo(-1);
            } else {
              assertThat(n).as("libdeflate refuses what zlib accepts").isEqualTo(expected.length);
              assertThat(Arrays.copyOf(out, n)).isEqualTo(expected);
            }
          }
        } finally {
          model.end();
          deflater.end();
        }
      }
    });
  }

  @Test
  void emptyStreamThatPrimingInflates() throws Exception {
    assumeTrue(NativeInflater.enabled(), "libdeflate.so.0 not found");
    byte[] zlib = new byte[64];
    Deflater deflater = new Deflater();
    deflater.finish();
    int n = deflater.deflate(zlib);
    deflater.end();
    assertThat(Arrays.copyOf(zlib, n)).isEqualTo(NativeInflater.EMPTY_ZLIB);
    try (NativeInflater inflater = NativeInflater.create()) {
      assertThat(inflater.inflateZlib(zlib, 0, n, new byte[1], 0, 1)).isZero();
    }
  }

  @Test
  void turnedOffByTheProperty() {
    String before = System.getProperty("vstore.inflate.native");
    System.setProperty("vstore.inflate.native", "false");
    try {
      assertThat(NativeInflater.enabled()).isFalse();
      assertThat(NativeInflater.create()).isNull();
    } finally {
      if (before == null) {
        System.clearProperty("vstore.inflate.native");
      } else {
        System.setProperty("vstore.inflate.native", before);
      }
    }
  }

  /** Returns what zlib inflates from a checked zlib stream into {@code room} bytes, or null if it refuses it. */
  private static byte[] zlib(Inflater inflater, byte[] in, int off, int len, int room) {
    inflater.reset();
    inflater.setInput(in, off, len);
    byte[] out = new byte[room + 1];
    try {
      int n = inflater.inflate(out);
      return inflater.finished() && n <= room ? Arrays.copyOf(out, n) : null;
    } catch (DataFormatException e) {
      return null;
    }
  }

  private static byte[] content(Random r, int n) {
    byte[] b = new byte[n];
    switch (r.nextInt(4)) {
      case 0 -> r.nextBytes(b);
      case 1 -> {
        byte[] text = "a line of text in a grain, with some words that repeat\n".getBytes();
        for (int i = 0; i < n; i++) {
          b[i] = text[(i + r.nextInt(3) / 2) % text.length];
        }
      }
      case 2 -> { } // zeros
      default -> {
        for (int i = 0; i < n; ) {
          int run = Math.min(n - i, 1 + r.nextInt(300));
          Arrays.fill(b, i, i + run, (byte) r.nextInt(4));
          i += run;
        }
      }
    }
    return b;
  }
}
