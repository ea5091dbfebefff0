package io.vstore.backup.engine;

import io.vstore.blockstore.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The record that lets an interrupted restore continue: which point goes into which target, and the
 * chunk below which everything is written and flushed to the target. Replaced atomically (temp file,
 * fsync, rename) each time the mark moves, deleted when the restore completes.
 *
 * <pre>
 * offset  size  field (little-endian)
 * 0       4     magic "VSRP"
 * 4       2     version (1)
 * 6       2     length of the point id in bytes (1..256)
 * 8       n     point id, UTF-8
 * 8+n     8     volume size in bytes
 * 16+n    4     chunk size
 * 20+n    8     done mark: chunks [0, mark) are written and flushed
 * 28+n    4     CRC32C of bytes [0, 28+n)
 * </pre>
 *
 * @param pointId the point being restored
 * @param size the point's size in bytes
 * @param chunkSize its chunk size
 * @param doneChunks chunks below this index are in the target
 */
public record RestoreProgress(String pointId, long size, int chunkSize, long doneChunks) {
  private static final int MAGIC = 0x50525356; // "VSRP" little-endian
  private static final short VERSION = 1;
  private static final int MAX_ID = 256;

  /** Returns the record at {@code file}, or null if there is none; a damaged record is an error naming it. */
  public static RestoreProgress load(Path file) throws IOException {
    byte[] bytes;
    try {
      if (Files.size(file) > 1024) {
        throw new IOException("bad restore progress record " + file + ": " + Files.size(file) + " bytes, at most 1024");
      }
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 8 + 24 || b.getInt(0) != MAGIC) {
      throw new IOException("not a restore progress record: " + file);
    }
    if (b.getShort(4) != VERSION) {
      throw new IOException("unsupported restore progress record " + file + ": version " + b.getShort(4)
          + ", this vstore reads version " + VERSION);
    }
    int n = Short.toUnsignedInt(b.getShort(6));
    if (n < 1 || n > MAX_ID || bytes.length != 32 + n) {
      throw new IOException("bad restore progress record " + file + ": id length " + n + ", file " + bytes.length
          + " bytes");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, 28 + n);
    if ((int) crc.getValue() != b.getInt(28 + n)) {
      throw new IOException("bad restore progress record " + file + ": checksum mismatch");
    }
    String id;
    try {
      id = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 8, n)).toString();
    } catch (CharacterCodingException e) {
      throw new IOException("bad restore progress record " + file + ": the point id is not UTF-8");
    }
    return new RestoreProgress(id, b.getLong(8 + n), b.getInt(16 + n), b.getLong(20 + n));
  }

  /** Writes this record to {@code file}, replacing any earlier one atomically. */
  public void save(Path file) throws IOException {
    byte[] id = pointId.getBytes(StandardCharsets.UTF_8);
    if (id.length < 1 || id.length > MAX_ID) {
      throw new IllegalArgumentException("bad point id for a progress record: '" + pointId + "'");
    }
    ByteBuffer b = ByteBuffer.allocate(32 + id.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(MAGIC).putShort(VERSION).putShort((short) id.length).put(id).putLong(size).putInt(chunkSize)
        .putLong(doneChunks);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    AtomicFiles.replace(file, b.array());
  }

  /** Returns whether this record describes a restore of the same point into a target of the same shape. */
  public boolean matches(String pointId, long size, int chunkSize) {
    return this.pointId.equals(pointId) && this.size == size && this.chunkSize == chunkSize;
  }
}
