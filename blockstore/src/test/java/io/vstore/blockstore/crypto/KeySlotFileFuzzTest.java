package io.vstore.blockstore.crypto;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.UnsupportedFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * Feeds the key-slot parser bytes: a valid file patched by the fuzzer, its checksum recomputed or
 * not (so that the checks behind the checksum are reached too). Parsing either succeeds, and then
 * encoding the slots gives back exactly the bytes parsed, or fails with a corruption or
 * unsupported-version error; never an unchecked exception or an allocation the file's size does
 * not bound.
 */
class KeySlotFileFuzzTest {
  private static final UUID UUID_ = new UUID(1, 2);

  @FuzzTest(maxDuration = "20s")
  void patchedFilesParseOrAreReportedAsDamaged(FuzzedDataProvider data) throws Exception {
    byte[] base = KeySlotFile.encode(UUID_, List.of(
        new KeySlot("passphrase", KeySlot.Kind.PASSPHRASE, Argon2Cost.DEFAULT, new byte[16], new byte[12], new byte[48]),
        new KeySlot("escrow", KeySlot.Kind.KEY_FILE, null, new byte[16], new byte[12], new byte[48])));
    int newLength = data.consumeInt(0, KeySlotFile.MAX_FILE_BYTES + 8);
    byte[] bytes = Arrays.copyOf(base, newLength);
    int patches = data.consumeInt(0, 8);
    for (int i = 0; i < patches && bytes.length > 0; i++) {
      bytes[data.consumeInt(0, bytes.length - 1)] = data.consumeByte();
    }
    if (data.consumeBoolean() && bytes.length >= 4) {
      CRC32C crc = new CRC32C();
      crc.update(bytes, 0, bytes.length - 4);
      ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 4, (int) crc.getValue());
    }
    byte[] input = bytes;
    try {
      List<KeySlot> slots = KeySlotFile.decode(input, UUID_, "fuzz");
      if (!Arrays.equals(KeySlotFile.encode(UUID_, slots), input)) {
        throw new AssertionError("a parsed key-slot file does not encode back to its bytes");
      }
    } catch (CorruptDataException | UnsupportedFormatException expected) {
      if (!expected.getMessage().contains("fuzz")) {
        throw new AssertionError("the error does not name the file: " + expected.getMessage());
      }
    }
  }
}
