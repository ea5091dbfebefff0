package io.vstore.vdisk;

import io.vstore.blockstore.store.ChannelOpener;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Set;

/**
 * Opens and creates the files of images through one {@link ChannelOpener}, so that crash tests can
 * hand every format channels that lose unsynced writes; formats get it at construction.
 */
public final class ImageFiles {
  /** The platform's files. */
  public static final ImageFiles PLATFORM = new ImageFiles(ChannelOpener.DEFAULT);

  private final ChannelOpener opener;

  /** Creates image file access through {@code opener}. */
  public ImageFiles(ChannelOpener opener) {
    this.opener = Objects.requireNonNull(opener, "opener");
  }

  /** What is built on a freshly opened channel; it keeps the channel. */
  @FunctionalInterface
  public interface OnChannel<T> {
    /** Builds the result on {@code channel}. */
    T apply(FileChannel channel) throws IOException;
  }

  /** Writes the structures of a new file. */
  @FunctionalInterface
  public interface Skeleton {
    /** Writes them to {@code channel}. */
    void write(FileChannel channel) throws IOException;
  }

  /** Opens {@code path} for reading, and for writing unless {@code readOnly}. */
  public FileChannel open(Path path, boolean readOnly) throws IOException {
    return opener.open(path, readOnly ? Set.of(StandardOpenOption.READ)
        : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  /**
   * Opens {@code path} as {@link #open(Path, boolean)} does and returns what {@code build} makes of
   * the channel, closing the channel if {@code build} fails.
   */
  public <T> T open(Path path, boolean readOnly, OnChannel<T> build) throws IOException {
    FileChannel ch = open(path, readOnly);
    try {
      return build.apply(ch);
    } catch (IOException | RuntimeException | Error e) {
      try {
        ch.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Creates {@code path}, which must not exist, and opens it for reading and writing. */
  public FileChannel create(Path path) throws IOException {
    return opener.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  /**
   * Creates {@code path}, which must not exist, writes {@code skeleton} into it and makes it durable.
   * If writing fails the new file is removed (a file that existed before is never touched).
   */
  public void create(Path path, Skeleton skeleton) throws IOException {
    FileChannel ch = opener.open(path, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    boolean success = false;
    try (ch) {
      skeleton.write(ch);
      ch.force(true);
      success = true;
    } finally {
      if (!success) {
        Files.deleteIfExists(path);
      }
    }
  }

  /**
   * Returns whether the {@code cache} create option asks for qemu's "unsafe" mode (no sync on flush,
   * qemu-img's {@code -t unsafe}) rather than {@code writeback}, the default; throws for other values.
   */
  public static boolean unsafeCache(CreateOptions options) {
    return switch (options.get("cache", "writeback")) {
      case "writeback" -> false;
      case "unsafe" -> true;
      default -> throw new IllegalArgumentException("cache must be writeback or unsafe, not '"
          + options.get("cache", "") + "'");
    };
  }

  /** Applies the {@code cache} create option to a new image and returns the image. */
  public static <T extends FileImage> T applyCache(T image, CreateOptions options) {
    if (unsafeCache(options)) {
      image.skipSyncOnFlush();
    }
    return image;
  }
}
