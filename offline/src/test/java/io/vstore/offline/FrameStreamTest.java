package io.vstore.offline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The transfer stream round-trips; every flipped bit and every truncation is a clear error, never wrong data. */
class FrameStreamTest {
  private static byte[] stream(long seed, List<Frame> written) throws IOException {
    Random rnd = new Random(seed);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FrameWriter w = new FrameWriter(out);
    for (int i = 0; i < 6; i++) {
      int len = 1 + rnd.nextInt(70_000);
      byte[] data = new byte[len];
      if (i % 2 == 0) {
        rnd.nextBytes(data); // stored
      } else {
        Arrays.fill(data, (byte) i); // compressed
      }
      long off = rnd.nextInt(1 << 20) * 512L;
      w.data(i % 3, off, ByteBuffer.wrap(data));
      written.add(new Frame(Frame.Type.DATA, i % 3, off, len, data));
    }
    w.zero(1, 4096, 8192);
    written.add(new Frame(Frame.Type.ZERO, 1, 4096, 8192, null));
    w.end();
    assertThat(w.bytesWritten()).isEqualTo(out.size());
    return out.toByteArray();
  }

  private static List<Frame> readAll(byte[] bytes) throws IOException {
    FrameReader r = new FrameReader(new ByteArrayInputStream(bytes), "test");
    List<Frame> out = new ArrayList<>();
    for (Frame f = r.next(); f != null && f.type() != Frame.Type.END; f = r.next()) {
      out.add(f);
    }
    return out;
  }

  @Test
  void roundTrips() throws IOException {
    List<Frame> written = new ArrayList<>();
    List<Frame> read = readAll(stream(1, written));
    assertThat(read).hasSameSizeAs(written);
    for (int i = 0; i < read.size(); i++) {
      assertThat(read.get(i).offset()).isEqualTo(written.get(i).offset());
      assertThat(read.get(i).disk()).isEqualTo(written.get(i).disk());
      assertThat(read.get(i).data()).isEqualTo(written.get(i).data());
    }
  }

  @Test
  void everyBitFlipOrTruncationIsDetected() throws IOException {
    byte[] good = stream(2, new ArrayList<>());
    Random rnd = new Random(3);
    for (int step = 0; step < 400; step++) {
      byte[] bad = good.clone();
      int at = rnd.nextInt(bad.length);
      bad[at] ^= (byte) (1 << rnd.nextInt(8));
      int s = step;
      assertThatThrownBy(() -> readAll(bad)).as("seed 3 step %d: bit flipped at %d", s, at)
          .isInstanceOf(IOException.class).hasMessageContaining("transfer stream from test");
    }
    for (int cut : new int[] {0, 10, 32, 100, good.length - 32, good.length - 1}) {
      assertThatThrownBy(() -> readAll(Arrays.copyOf(good, cut))).as("cut at %d", cut)
          .isInstanceOf(IOException.class).hasMessageContaining("transfer stream from test");
    }
  }

  @Test
  void sizesAreBoundedBeforeAllocating() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FrameWriter w = new FrameWriter(out);
    assertThatThrownBy(() -> w.data(0, 0, ByteBuffer.allocate(FrameFormat.MAX_LENGTH + 1)))
        .isInstanceOf(IllegalArgumentException.class);
    // a header claiming 2 GiB: refused by its size, not by running out of memory
    ByteBuffer h = ByteBuffer.allocate(FrameFormat.HEADER);
    h.putInt(FrameFormat.MAGIC).put(FrameFormat.DATA).put(FrameFormat.STORED).putShort((short) 0).putLong(0)
        .putInt(Integer.MAX_VALUE).putInt(Integer.MAX_VALUE).putInt(0);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(h.array(), 0, 28);
    h.putInt((int) crc.getValue());
    assertThatThrownBy(() -> readAll(h.array())).hasMessageContaining("bytes (1 to");
  }

  @Test
  void aReusingReaderHandsOutOneArrayPerLengthWithEachFramesBytes() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FrameWriter w = new FrameWriter(out);
    Random rnd = new Random(5);
    List<byte[]> sent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      byte[] data = new byte[i == 3 ? 4096 : 65536]; // one frame of another length in between
      if (i % 2 == 0) {
        rnd.nextBytes(data);
      } else {
        Arrays.fill(data, (byte) (i + 1));
      }
      w.data(0, i * 65536L, ByteBuffer.wrap(data));
      sent.add(data);
    }
    w.end();
    FrameReader r = FrameReader.reusing(new ByteArrayInputStream(out.toByteArray()), "test");
    List<byte[]> arrays = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Frame f = r.next();
      assertThat(f.data()).as("frame %d", i).isEqualTo(sent.get(i)); // checked before the next call reuses it
      arrays.add(f.data());
    }
    assertThat(r.next().type()).isEqualTo(Frame.Type.END);
    assertThat(arrays.get(1)).isSameAs(arrays.get(0));
    assertThat(arrays.get(2)).isSameAs(arrays.get(0));
    assertThat(arrays.get(3)).isNotSameAs(arrays.get(0)).hasSize(4096);
    assertThat(arrays.get(4)).hasSize(65536);
  }
}
