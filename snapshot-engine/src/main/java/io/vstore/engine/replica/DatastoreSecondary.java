package io.vstore.engine.replica;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** A secondary that is a volume of another datastore of this process; writes carry the epoch to its guard. */
final class DatastoreSecondary implements Secondary {
  private final Datastore datastore;
  private final ReplicaStore store;
  private final AtomicReference<ReplicaRecord> record;
  private final Volume volume;
  private final boolean startsEmpty;

  DatastoreSecondary(Datastore datastore, ReplicaStore store, AtomicReference<ReplicaRecord> record, boolean startsEmpty)
      throws IOException {
    this.datastore = datastore;
    this.store = store;
    this.record = record;
    this.volume = datastore.volume(record.get().volume());
    this.startsEmpty = startsEmpty;
  }

  @Override
  public long size() {
    return volume.size();
  }

  @Override
  public void write(long offset, ByteBuffer src, long epoch) throws IOException {
    ScopedValue.where(SecondaryGuard.WRITER, epoch).call(() -> {
      volume.write(offset, src);
      return null;
    });
  }

  @Override
  public void zero(long offset, long length, boolean discard, long epoch) throws IOException {
    ScopedValue.where(SecondaryGuard.WRITER, epoch).call(() -> {
      if (discard) {
        volume.discard(offset, length);
      } else {
        volume.writeZeroes(offset, length, false);
      }
      return null;
    });
  }

  @Override
  public void flush(long epoch) throws IOException {
    volume.flush();
  }

  @Override
  public boolean startsEmpty() {
    return startsEmpty;
  }

  @Override
  public String flushedChangeId() throws IOException {
    return datastore.changeId(volume.name()); // flushes the datastore first
  }

  @Override
  public List<Extent> changedSince(String changeId) throws IOException {
    return datastore.changedAreas(volume.name(), changeId, 0, volume.size()).extents();
  }

  @Override
  public void agreed(String own, String peer) throws IOException {
    ReplicaRecord r = record.get();
    if (own.equals(r.ownPin()) && peer.equals(r.peerPin())) {
      return;
    }
    Pins.pin(datastore, r.id(), own);
    ReplicaRecord next = r.withPins(own, peer);
    store.write(next);
    record.set(next);
    Pins.unpinOthers(datastore, r.id(), r.volume(), own);
  }

  @Override
  public void close() throws IOException {
    volume.close();
  }

  @Override
  public String toString() {
    return datastore.path() + ":" + volume.name();
  }
}
