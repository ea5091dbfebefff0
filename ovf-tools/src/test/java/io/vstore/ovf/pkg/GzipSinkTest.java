package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The writer's gzip stage produces what {@link GZIPInputStream} (and gunzip) read back. */
class GzipSinkTest {
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 511, 65536, 3 << 20, -(9 << 20)})
  void gunzipReadsWhatWasWritten(int sized) throws IOException {
    // A negative size asks for random (incompressible) data, which fills the output buffer.
    int size = Math.abs(sized);
    byte[] data = new byte[size];
    Random r = new Random(size);
    if (sized < 0) {
      r.nextBytes(data);
    }
    for (int i = 0; i < size; i += 1 + r.nextInt(100)) {
      data[i] = (byte) r.nextInt();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteSink collect = new ByteSink() {
      @Override
      public void write(ByteBuffer src) {
        byte[] b = new byte[src.remaining()];
        src.get(b);
        out.write(b, 0, b.length);
      }

      @Override
      public void finish() { }
    };
    GzipSink gz = new GzipSink(collect);
    ByteBuffer direct = ByteBuffer.allocateDirect(sized < 0 ? 4 << 20 : 100_000);
    for (int at = 0; at < size; ) {
      int n = Math.min(direct.capacity(), size - at);
      direct.clear();
      direct.put(data, at, n).flip();
      gz.write(direct);
      assertThat(direct.hasRemaining()).isFalse();
      direct.clear(); // as the VMDK writer reuses its buffer: the sink must not look at it again
      at += n;
    }
    gz.finish();
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(out.toByteArray()))) {
      assertThat(in.readAllBytes()).isEqualTo(data);
    }
  }
}
