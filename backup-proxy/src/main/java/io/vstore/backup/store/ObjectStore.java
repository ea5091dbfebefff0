package io.vstore.backup.store;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A flat namespace of immutable objects: what a backup repository is stored in (a directory, an S3
 * bucket). Keys are relative, {@code /}-separated, made of {@code [a-z0-9._-]} segments; the store
 * rejects any other key with {@link IllegalArgumentException}.
 *
 * <p>Objects are written whole and atomically: a reader sees all of an object or none of it, also
 * after a crash in the middle of a put. An existing object is never overwritten — the repository
 * names its objects by content or by fresh random ids — so a put is conditional: it reports whether
 * the key already existed (then nothing is written). This is what versioned and object-locked buckets
 * allow, and what the repository's ordering (data, then index, then manifest) relies on.
 *
 * <p>Thread-safe. {@link #toString()} names the location ({@code /path/to/repo} or
 * {@code s3://bucket/prefix}), and every error names it and the key.
 */
public interface ObjectStore extends Closeable {

  /**
   * Stores {@code data} (its remaining bytes; its position is not moved) under {@code key}, unless
   * the key exists. Durable when this returns true.
   *
   * @return true if written, false if an object with this key already existed (nothing written)
   */
  boolean putIfAbsent(String key, ByteBuffer data) throws IOException;

  /** Returns the whole object. @throws NoSuchObjectException if there is none under {@code key} */
  byte[] get(String key) throws IOException;

  /**
   * Returns {@code length} bytes of the object from {@code offset}.
   *
   * @throws NoSuchObjectException if there is none under {@code key}
   * @throws java.io.EOFException if the object ends before {@code offset + length}
   */
  byte[] get(String key, long offset, int length) throws IOException;

  /**
   * Fills {@code dst} (its remaining bytes) from the object at {@code offset}, moving its position:
   * a caller that reads many ranges reuses one buffer. The default copies {@link #get(String, long, int)}.
   *
   * @throws NoSuchObjectException if there is none under {@code key}
   * @throws java.io.EOFException if the object ends before the range does
   */
  default void read(String key, long offset, ByteBuffer dst) throws IOException {
    dst.put(get(key, offset, dst.remaining()));
  }

  /** Returns the object's size and time, or empty if there is none under {@code key}. */
  Optional<ObjectInfo> stat(String key) throws IOException;

  /**
   * Calls {@code visitor} once for each object whose key starts with {@code prefix}, in no
   * particular order, without holding the whole listing in memory.
   */
  void list(String prefix, Consumer<ObjectInfo> visitor) throws IOException;

  /** Deletes the object; deleting a key that does not exist is not an error. */
  void delete(String key) throws IOException;
}
