package io.vstore.blockstore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Replaces small files (descriptors, inventories, job and token records) durably and atomically:
 * a reader, or the process after a crash or power cut, sees the old content or the new, never a
 * mixture. The new content goes to a temporary file beside the target, is forced to disk, renamed
 * over the target, and the directory is forced so that the rename itself is durable.
 */
public final class AtomicFiles {
  private static final FileAttribute<?> OWNER_ONLY =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private AtomicFiles() {}

  /** Replaces {@code file} with {@code content}. */
  public static void replace(Path file, byte[] content) throws IOException {
    write(file, content, false);
  }

  /** Replaces {@code file} with {@code content} in a file only its owner may read (mode 0600 from its creation). */
  public static void replacePrivate(Path file, byte[] content) throws IOException {
    write(file, content, true);
  }

  private static void write(Path file, byte[] content, boolean ownerOnly) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = dir.resolve(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp); // left by a crash; recreated below with the right mode
    try (FileChannel ch = ownerOnly
        ? FileChannel.open(tmp, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), OWNER_ONLY)
        : FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(content);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.deleteIfExists(tmp);
      throw new IOException("cannot replace " + file + " atomically: " + e.getMessage(), e);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open a directory; there the rename is as durable as they make it.
    }
  }
}
