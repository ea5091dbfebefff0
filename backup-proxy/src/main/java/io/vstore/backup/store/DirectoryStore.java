package io.vstore.backup.store;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * An {@link ObjectStore} in a local directory: one file per object, {@code /} in a key a
 * subdirectory. A put writes a temporary file under {@code tmp/}, forces it, and hard-links it to
 * its key — a link, unlike a rename, fails when the key exists, so a put never replaces an object
 * — then forces the directory. A crash leaves at most a temporary file, which {@link #open} removes.
 */
public final class DirectoryStore implements ObjectStore {
  private static final String TMP = "tmp";

  private final Path root;
  private volatile boolean closed;

  private DirectoryStore(Path root) {
    this.root = root;
  }

  /** Opens (creating if needed) the store in {@code dir} and removes temporary files a crash left. */
  public static DirectoryStore open(Path dir) throws IOException {
    Path root = dir.toAbsolutePath().normalize();
    Files.createDirectories(root.resolve(TMP));
    try (Stream<Path> leftovers = Files.list(root.resolve(TMP))) {
      for (Path p : (Iterable<Path>) leftovers::iterator) {
        Files.deleteIfExists(p);
      }
    }
    return new DirectoryStore(root);
  }

  /** Returns the directory holding the objects. */
  public Path root() {
    return root;
  }

  @Override
  public boolean putIfAbsent(String key, ByteBuffer data) throws IOException {
    Path target = file(key);
    if (Files.exists(target)) {
      return false;
    }
    Path tmp = root.resolve(TMP).resolve(UUID.randomUUID().toString());
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer src = data.duplicate();
        while (src.hasRemaining()) {
          ch.write(src);
        }
        ch.force(true);
      }
      Files.createDirectories(target.getParent());
      try {
        Files.createLink(target, tmp);
      } catch (FileAlreadyExistsException e) {
        return false;
      }
      forceDirectory(target.getParent());
      return true;
    } catch (IOException e) {
      throw new IOException(this + ": cannot store " + key + ": " + e.getMessage(), e);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  @Override
  public byte[] get(String key) throws IOException {
    Path f = file(key);
    try {
      return Files.readAllBytes(f);
    } catch (NoSuchFileException e) {
      throw new NoSuchObjectException(this + ": no object " + key);
    }
  }

  @Override
  public byte[] get(String key, long offset, int length) throws IOException {
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("bad range " + offset + "+" + length + " of " + key);
    }
    ByteBuffer dst = ByteBuffer.allocate(length);
    read(key, offset, dst);
    return dst.array();
  }

  /** Reads the range with positional reads straight into {@code dst} (no intermediate array). */
  @Override
  public void read(String key, long offset, ByteBuffer dst) throws IOException {
    int length = dst.remaining();
    if (offset < 0) {
      throw new IllegalArgumentException("bad range " + offset + "+" + length + " of " + key);
    }
    Path f = file(key);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      if (offset > ch.size() - length) {
        throw new EOFException(this + ": object " + key + " ends at " + ch.size() + ", before "
            + (offset + length));
      }
      long pos = offset;
      while (dst.hasRemaining()) {
        int n = ch.read(dst, pos);
        if (n < 0) {
          throw new EOFException(this + ": object " + key + " ends at " + ch.size() + ", before "
              + (offset + length));
        }
        pos += n;
      }
    } catch (NoSuchFileException e) {
      throw new NoSuchObjectException(this + ": no object " + key);
    }
  }

  @Override
  public Optional<ObjectInfo> stat(String key) throws IOException {
    try {
      BasicFileAttributes a = Files.readAttributes(file(key), BasicFileAttributes.class);
      return Optional.of(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  @Override
  public void list(String prefix, Consumer<ObjectInfo> visitor) throws IOException {
    ObjectKeys.checkPrefix(prefix);
    ensureOpen();
    // Walk only the deepest directory the prefix names completely; filter the rest by name.
    int slash = prefix.lastIndexOf('/');
    Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash));
    if (!Files.isDirectory(start)) {
      return;
    }
    try (Stream<Path> files = Files.walk(start)) {
      files.forEach(p -> {
        String key = root.relativize(p).toString();
        if (key.startsWith(TMP + "/") || !key.startsWith(prefix)) {
          return;
        }
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
          if (a.isRegularFile()) {
            visitor.accept(new ObjectInfo(key, a.size(), a.lastModifiedTime().toInstant()));
          }
        } catch (NoSuchFileException e) {
          // deleted while listed: not part of the listing
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw new IOException(this + ": cannot list " + prefix + ": " + e.getCause().getMessage(), e.getCause());
    }
  }

  @Override
  public void delete(String key) throws IOException {
    Path f = file(key);
    Files.deleteIfExists(f);
  }

  @Override
  public void close() {
    closed = true;
  }

  @Override
  public String toString() {
    return root.toString();
  }

  private Path file(String key) {
    ObjectKeys.check(key);
    ensureOpen();
    if (key.equals(TMP) || key.startsWith(TMP + "/")) {
      throw new IllegalArgumentException("bad object key: '" + key + "' is reserved");
    }
    return root.resolve(key);
  }

  private void ensureOpen() {
    if (closed) {
      throw new AlreadyClosedException(this + " is closed");
    }
  }

  private static void forceDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open a directory; there the link is as durable as they make it.
    }
  }
}
