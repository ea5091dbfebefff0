package io.vstore.backup.instant;

import io.vstore.backup.engine.PointDevice;
import io.vstore.backup.maint.LockKind;
import io.vstore.backup.maint.LockedRepository;
import io.vstore.backup.repo.KeySource;
import io.vstore.backup.store.ObjectStore;
import io.vstore.backup.store.ObjectStores;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A backup point opened for serving over a long time (an instant restore's source, a mount): the
 * point as a read-only device together with the repository and store it reads, closed together.
 * The repository is opened under a restore lock, so that gc keeps every chunk the point uses for as
 * long as it is served.
 */
public final class PointSource implements BlockDevice {
  private final ObjectStore store;
  private final LockedRepository repository;
  private final PointDevice point;
  private final String location;

  private PointSource(ObjectStore store, LockedRepository repository, PointDevice point, String location) {
    this.store = store;
    this.repository = repository;
    this.point = point;
    this.location = location;
  }

  /**
   * Opens point {@code idOrPrefix} of the repository at {@code location}.
   *
   * @param key what unlocks the repository, or null if it is not encrypted
   */
  public static PointSource open(String location, KeySource key, String idOrPrefix) throws IOException {
    ObjectStore store = openStore(location);
    LockedRepository repo = null;
    try {
      repo = LockedRepository.open(store, key, LockKind.RESTORE, idOrPrefix);
      PointDevice device = PointDevice.open(repo.repo(), idOrPrefix);
      return new PointSource(store, repo, device, location);
    } catch (IOException | RuntimeException e) {
      try {
        if (repo != null) {
          repo.close();
        }
        store.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** Turns a repository location (a directory or {@code s3://BUCKET[/PREFIX]}) into its store. */
  static ObjectStore openStore(String location) throws IOException {
    return ObjectStores.open(location);
  }

  /** Returns the point's full id. */
  public String pointId() {
    return point.pointId();
  }

  /** Returns the point's chunk size, the unit an instant restore merges in. */
  public int chunkSize() {
    return point.chunkSize();
  }

  @Override
  public long size() {
    return point.size();
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    point.read(offset, dst);
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void flush() {
    // nothing to make durable: the point is read-only
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    throw new ReadOnlyDeviceException(this);
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    return point.allocation(offset, length);
  }

  @Override
  public boolean isReadOnly() {
    return true;
  }

  @Override
  public void close() throws IOException {
    try (ObjectStore s = store; LockedRepository r = repository; PointDevice p = point) {
      // closed in reverse order: the point, then the repository and its lock, then the store
    }
  }

  @Override
  public String toString() {
    return "backup point " + point.pointId() + " of " + location;
  }
}
