package io.vstore.blockstore.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The key-slot file: round trip, and every kind of damage named. */
final class KeySlotFileTest {
  private static final UUID ID = UUID.randomUUID();

  private static List<KeySlot> slots() {
    return List.of(
        new KeySlot("user", KeySlot.Kind.PASSPHRASE, new Argon2Cost(1024, 2, 1), new byte[16], new byte[12], new byte[48]),
        new KeySlot("escrow é", KeySlot.Kind.KEY_FILE, null, new byte[16], new byte[12], new byte[48]));
  }

  @Test
  void slotsReadBackAsWritten() throws Exception {
    byte[] file = KeySlotFile.encode(ID, slots());
    List<KeySlot> back = KeySlotFile.decode(file, ID, "f");
    assertThat(back).extracting(KeySlot::label).containsExactly("user", "escrow é");
    assertThat(back.get(0).cost()).isEqualTo(new Argon2Cost(1024, 2, 1));
    assertThat(KeySlotFile.encode(ID, back)).isEqualTo(file);
  }

  @Test
  void damageIsNamed() {
    byte[] file = KeySlotFile.encode(ID, slots());
    assertThatThrownBy(() -> KeySlotFile.decode(file, UUID.randomUUID(), "f"))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("belongs to datastore " + ID);
    byte[] flipped = file.clone();
    flipped[40] ^= 1;
    assertThatThrownBy(() -> KeySlotFile.decode(flipped, ID, "f")).isInstanceOf(CorruptDataException.class)
        .hasMessageStartingWith("bad key slots: f checksum");
    byte[] newer = file.clone();
    newer[8] = 2;
    assertThatThrownBy(() -> KeySlotFile.decode(newer, ID, "f")).isInstanceOf(UnsupportedFormatException.class);
    byte[] magic = file.clone();
    magic[0] = 'X';
    assertThatThrownBy(() -> KeySlotFile.decode(magic, ID, "f")).hasMessageContaining("not a vstore key-slot file");
    assertThatThrownBy(() -> KeySlotFile.decode(java.util.Arrays.copyOf(file, 20), ID, "f"))
        .hasMessageContaining("truncated");
  }
}
