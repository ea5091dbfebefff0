package io.vstore.blockstore.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Sealing and opening record parts: round trips, in place and across buffers, and what fails to open. */
final class RecordSealerTest {
  private final RecordSealer sealer = new RecordSealer(new SecretKeySpec(new byte[32], "AES"));

  @Test
  void partsSealedInPlaceOrFromAnotherBufferOpenOnlyWithTheirIdentity() {
    Random r = new Random(1);
    for (boolean direct : new boolean[] {false, true}) {
      for (int n : new int[] {1, 15, 16, 4096, 5000, RecordSealer.MAX_PART_BYTES}) {
        byte[] plain = new byte[n];
        r.nextBytes(plain);
        ByteBuffer buf = direct ? ByteBuffer.allocateDirect(n + 100) : ByteBuffer.allocate(n + 100);
        buf.position(50).put(plain).put(new byte[] {1, 2, 3}).clear();
        byte[] nonce = new byte[RecordSealer.NONCE_BYTES];
        sealer.reserve(3, nonce, 0);
        byte[] tags = new byte[48];
        ByteBuffer part = buf.duplicate().limit(50 + n).position(50);
        sealer.seal(part, buf.duplicate().position(50), nonce, 0, 1, 7, 100, 3, tags, 16);
        assertThat(buf.get(50 + n)).as("the byte after the part is put back").isEqualTo((byte) 1);
        byte[] sealed = new byte[n];
        buf.get(50, sealed);
        if (n >= 16) { // a shorter part's ciphertext may equal its plaintext by chance (1 in 256 for one byte)
          assertThat(sealed).isNotEqualTo(plain);
        }
        assertThat(sealer.open(part, nonce, 0, 2, 7, 100, 3, tags, 16)).as("another part's nonce").isFalse();
        assertThat(sealer.open(part, nonce, 0, 1, 8, 100, 3, tags, 16)).as("another volume").isFalse();
        assertThat(sealer.open(part, nonce, 0, 1, 7, 101, 3, tags, 16)).as("another block").isFalse();
        assertThat(sealer.open(part, nonce, 0, 1, 7, 100, 4, tags, 16)).as("another generation").isFalse();
        byte[] cleared = new byte[n];
        buf.get(50, cleared);
        assertThat(cleared).as("a failed open leaves no bytes it could not authenticate").isEqualTo(new byte[n]);
        assertThat(buf.get(50 + n)).as("nor touches the byte after the part").isEqualTo((byte) 1);
        buf.put(50, sealed);
        byte[] after = new byte[n];
        assertThat(sealer.open(part, nonce, 0, 1, 7, 100, 3, tags, 16)).isTrue();
        buf.get(50, after);
        assertThat(after).isEqualTo(plain);
        // out of place: from a heap source into the buffer
        ByteBuffer out = direct ? ByteBuffer.allocateDirect(n + 16) : ByteBuffer.allocate(n + 16);
        sealer.seal(ByteBuffer.wrap(plain), out.duplicate(), nonce, 0, 2, 7, 100, 3, tags, 32);
        assertThat(sealer.open(out.duplicate().limit(n), nonce, 0, 2, 7, 100, 3, tags, 32)).isTrue();
        byte[] back = new byte[n];
        out.get(0, back);
        assertThat(back).isEqualTo(plain);
      }
    }
  }

  @Test
  void reservedNoncesNeverRepeat() {
    Set<String> seen = new HashSet<>();
    byte[] nonce = new byte[12];
    for (int i = 0; i < 1000; i++) {
      sealer.reserve(1 + i % 300, nonce, 0);
      long epoch = ByteBuffer.wrap(nonce).getLong();
      int counter = ByteBuffer.wrap(nonce).getInt(8);
      for (int j = 0; j < 1 + i % 300; j++) {
        assertThat(seen.add(epoch + ":" + (counter + j))).isTrue();
      }
    }
  }
}
