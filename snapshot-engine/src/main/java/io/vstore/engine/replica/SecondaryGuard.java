package io.vstore.engine.replica;

import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.VolumeInterceptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Sits on the secondary's volume: while it is a secondary only its primary's replication stream
 * (bound as {@link #WRITER} with the pair's current epoch) may change it; once promoted, everyone
 * but a replication stream may, so a late write of the old primary is refused: the fence.
 */
final class SecondaryGuard implements VolumeInterceptor {
  /** The epoch of the replication stream writing on this thread; unbound for every other writer. */
  static final ScopedValue<Long> WRITER = ScopedValue.newInstance();

  private final AtomicReference<ReplicaRecord> record;

  SecondaryGuard(AtomicReference<ReplicaRecord> record) {
    this.record = record;
  }

  private void check() throws IOException {
    ReplicaRecord r = record.get();
    boolean promoted = r.state().equals("PROMOTED");
    if (WRITER.isBound()) {
      long epoch = WRITER.get();
      if (promoted || epoch != r.epoch()) {
        throw new FencedException("fenced: volume " + r.volume() + " of replica " + r.id() + " is at epoch " + r.epoch()
            + (promoted ? " and was promoted" : "") + "; a write of epoch " + epoch + " is refused");
      }
    } else if (!promoted) {
      throw new ReadOnlyDeviceException("volume " + r.volume() + " is the secondary of replica " + r.id()
          + ": only its primary writes it (promote it with 'vstore replica promote " + r.id() + "')");
    }
  }

  @Override
  public void write(long offset, ByteBuffer src, Local local) throws IOException {
    check();
    local.apply();
  }

  @Override
  public void zero(long offset, long length, boolean discard, Local local) throws IOException {
    check();
    local.apply();
  }

  @Override
  public void flush(Local local) throws IOException {
    local.apply(); // flushing never changes content; a fenced writer's flush is harmless
  }
}
