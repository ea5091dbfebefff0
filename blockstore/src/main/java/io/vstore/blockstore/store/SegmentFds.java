package io.vstore.blockstore.store;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.uring.NativeFiles;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Plain read-only file descriptors of segment files, for reads that a caller's own I/O engine
 * (io_uring) performs after the volume's locks are released. Each descriptor is counted: the
 * cleaner may delete a segment while such a read is planned or in flight, and the descriptor then
 * stays open, and the unlinked file readable, until the last read lets go of it. Without the
 * count a closed descriptor's number could be reused by another file before the read is issued.
 */
final class SegmentFds {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");

  /** A counted reference on one segment's descriptor; the last release closes it. */
  static final class Handle {
    private final int fd;
    private final Path path;
    /** One for the table's own reference while the segment lives, one per read holding it. */
    private final AtomicInteger refs = new AtomicInteger(1);

    private Handle(int fd, Path path) {
      this.fd = fd;
      this.path = path;
    }

    /** Returns the descriptor; valid until this reference is released. */
    int fd() {
      return fd;
    }

    /** Returns the segment file's path, for error messages. */
    Path path() {
      return path;
    }

    private boolean retain() {
      for (int r = refs.get(); r > 0; r = refs.get()) {
        if (refs.compareAndSet(r, r + 1)) {
          return true;
        }
      }
      return false;
    }

    /** Gives this reference back. */
    void release() {
      if (refs.decrementAndGet() == 0) {
        try {
          NativeFiles.close(fd);
        } catch (IOException e) {
          LOG.log(System.Logger.Level.WARNING, "closing the read descriptor of " + path + " failed", e);
        }
      }
    }
  }

  private final Map<Long, Handle> open = new ConcurrentHashMap<>();

  /**
   * Returns a new reference on segment {@code id}'s descriptor, opening the file {@code paths}
   * names on first use. The caller holds the locks that keep the segment referenced, so it cannot
   * be deleted meanwhile.
   */
  Handle acquire(long id, java.util.function.LongFunction<Path> paths) throws IOException {
    while (true) {
      Handle h = open.get(id);
      if (h == null) {
        Path path = paths.apply(id);
        int fd;
        try {
          fd = NativeFiles.openReadOnly(path);
        } catch (NoSuchFileException e) {
          throw new CorruptDataException("bad segment: " + path + " is missing");
        }
        Handle made = new Handle(fd, path);
        try {
          NativeFiles.adviseRandom(fd); // planned reads are small and scattered; readahead only wastes the disk
        } catch (IOException e) {
          made.release();
          throw e;
        }
        h = open.putIfAbsent(id, made);
        if (h == null) {
          h = made;
        } else {
          made.release(); // another reader opened it first
        }
      }
      if (h.retain()) {
        return h;
      }
      open.remove(id, h); // retired between the lookup and the retain
    }
  }

  /** Drops the table's reference on segment {@code id}: the descriptor closes once no read holds it. */
  void retire(long id) {
    Handle h = open.remove(id);
    if (h != null) {
      h.release();
    }
  }

  /** Retires every descriptor. */
  void retireAll() {
    for (Long id : open.keySet()) {
      retire(id);
    }
  }
}
