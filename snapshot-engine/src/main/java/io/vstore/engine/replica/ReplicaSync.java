package io.vstore.engine.replica;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sync of a {@link Replica}: sends the secondary what it lacks after a connect, that is the
 * changes since the pins, then what the full copy has left (the volume's allocated data, its
 * cursor persisted as it advances), and counts the bytes sent and still to send.
 *
 * <p>It runs on the replica's worker only; client writes meanwhile mirror through the replica and
 * meet the sync's copies in the {@link RangeGate}.
 */
final class ReplicaSync {
  /** Copy unit of a sync. */
  static final int CHUNK = 1 << 20;
  /** Full-copy progress is persisted after every this many bytes. */
  private static final long PROGRESS_STEP = 64L << 20;

  private final Replica replica;
  private final Datastore datastore;
  private final long size;
  private final RangeGate gate;
  private final AtomicLong bytesSent = new AtomicLong();
  /** Bytes the running sync has still to send; written by the worker alone. */
  private volatile long remaining;

  ReplicaSync(Replica replica, long size, RangeGate gate) {
    this.replica = replica;
    this.datastore = replica.datastore();
    this.size = size;
    this.gate = gate;
  }

  /** Returns the bytes the running sync has still to send. */
  long remaining() {
    return remaining;
  }

  /** Records that no sync runs: the secondary holds everything. */
  void finished() {
    remaining = 0;
  }

  /** Returns the bytes the syncs copied since start. */
  long bytesSent() {
    return bytesSent.get();
  }

  /** Sends what the secondary lacks: the changes since the pins, then what the full copy has left. */
  void run(Secondary sec) throws IOException {
    ReplicaRecord r = replica.record();
    long copiedUpTo = Math.min(r.fullCopyFrom(), size);
    List<Extent> changed = new ArrayList<>();
    if (r.ownPin() != null && copiedUpTo > 0) {
      changed.addAll(datastore.changedAreas(r.volume(), r.ownPin(), 0, copiedUpTo).extents());
    }
    if (r.peerPin() != null && copiedUpTo > 0) {
      List<Extent> theirs = sec.changedSince(r.peerPin());
      if (theirs == null) {
        throw new IOException("secondary " + sec + " cannot report its changes since " + r.peerPin());
      }
      for (Extent e : theirs) {
        if (e.offset() < copiedUpTo) {
          changed.add(new Extent(e.offset(), Math.min(e.end(), copiedUpTo) - e.offset(), Extent.Kind.DATA));
        }
      }
    }
    List<Extent> todo = merge(changed);
    long remaining = size - copiedUpTo;
    for (Extent e : todo) {
      remaining += e.length();
    }
    this.remaining = remaining;
    try (Volume source = datastore.volume(r.volume(), true)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
      for (Extent e : todo) {
        copy(source, sec, e.offset(), e.length(), buf);
      }
      long pos = copiedUpTo;
      while (pos < size) {
        long window = Math.min(PROGRESS_STEP, size - pos);
        for (Extent e : source.allocation(pos, window)) {
          if (e.kind() == Extent.Kind.DATA) {
            copy(source, sec, e.offset(), e.length(), buf);
          } else {
            if (!sec.startsEmpty()) {
              sec.zero(e.offset(), e.length(), true, replica.record().epoch());
            }
            this.remaining -= e.length();
          }
        }
        pos += window;
        replica.checkOpen(sec);
        replica.persist(replica.record().withFullCopyFrom(pos));
      }
    }
    sec.flush(replica.record().epoch());
  }

  private void copy(Volume source, Secondary sec, long offset, long length, ByteBuffer buf) throws IOException {
    for (long done = 0; done < length; ) {
      replica.checkOpen(sec);
      int n = (int) Math.min(CHUNK, length - done);
      gate.lockRange(offset + done, n);
      try {
        buf.clear().limit(n);
        source.read(offset + done, buf);
        sec.write(offset + done, buf.flip(), replica.record().epoch());
      } finally {
        gate.unlockRange();
      }
      done += n;
      bytesSent.addAndGet(n);
      remaining -= n;
    }
  }

  /** Returns {@code extents} sorted by offset with overlapping and touching ones joined, all as data. */
  static List<Extent> merge(List<Extent> extents) {
    List<Extent> sorted = new ArrayList<>(extents);
    sorted.sort(Comparator.comparingLong(Extent::offset));
    List<Extent> out = new ArrayList<>();
    for (Extent e : sorted) {
      Extent last = out.isEmpty() ? null : out.getLast();
      if (last != null && e.offset() <= last.end()) {
        if (e.end() > last.end()) {
          out.set(out.size() - 1, new Extent(last.offset(), e.end() - last.offset(), Extent.Kind.DATA));
        }
      } else {
        out.add(new Extent(e.offset(), e.length(), Extent.Kind.DATA));
      }
    }
    return out;
  }
}
