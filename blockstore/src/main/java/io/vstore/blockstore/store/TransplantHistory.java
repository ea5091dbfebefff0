package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.util.List;

/**
 * The history part of a {@link VolumeTransplant}: replays the source volume's snapshots, oldest
 * first, into the incoming volume. For each it writes into the incoming head what changed since
 * the previous snapshot (the source's change log, which is never merged across a snapshot's
 * generation, gives exactly that), born in the snapshot's generation, then commits the snapshot
 * with the source's name, creation time and generation and the incoming volume's generation set
 * to it, in one batch. Data a snapshot shares with the next is written once. A resumed run first
 * drops the snapshots the source deleted meanwhile, then rolls back a half-copied step.
 */
final class TransplantHistory {
  private final Datastore source;
  private final VolumeState from;
  private final StoreParts src;
  private final StoreParts dst;
  private final VolumeState to;
  private final TransplantCopy copier;

  TransplantHistory(Datastore source, VolumeState from, Datastore dest, VolumeState to, TransplantProgress progress) {
    this.source = source;
    this.from = from;
    this.src = source.parts();
    this.dst = dest.parts();
    this.to = to;
    this.copier = new TransplantCopy(new Volume(dest, to, null, false), progress);
  }

  /** Returns the bytes of data copied so far. */
  long bytesCopied() {
    return copier.copied();
  }

  /**
   * Copies every snapshot the incoming volume lacks and returns the ranges of the source's head
   * that differ from the incoming head's content (the newest snapshot's).
   */
  List<Extent> copy(boolean resumed) throws IOException {
    List<SnapshotState> want = VolumeTransplant.snapshotsOf(from);
    int done = resumed ? reconcile(want) : 0;
    if (resumed) {
      VolumeRecord.Incoming mark = to.incoming();
      if (!mark.copyingHead() || done < want.size()) {
        // What the head holds beyond the newest snapshot copied is a half-done step, or head data
        // the source's newer snapshots now come before: either way not to be kept.
        withCommitLock(() -> {
          dst.commits().flushLocked();
          to.rollBackToNewestSnapshot();
          long committed = to.committedGeneration();
          to.setIncoming(mark.next(done < want.size() ? want.get(done).generation() : committed + 1,
              done == want.size()), committed);
          dst.commits().flushLocked();
        });
      }
    }
    for (int i = done; i < want.size(); i++) {
      SnapshotState s = want.get(i);
      SnapshotState previous = i == 0 ? null : want.get(i - 1);
      setBirth(s.generation());
      String since = previous == null ? "*" : ChangeTracking.changeId(from, previous);
      List<Extent> ranges = ChangeTracking.changedAreas(src, from, s, since, 0, from.size).extents();
      Volume view = new Volume(source, from, s, true);
      copier.copy(view, ranges, previous != null, from.name + "@" + s.name(), i + 1, want.size());
      commitSnapshot(s, i + 1 < want.size() ? want.get(i + 1).generation() : s.generation() + 1,
          i + 1 == want.size());
    }
    String since = want.isEmpty() ? "*" : ChangeTracking.changeId(from, want.getLast());
    return ChangeTracking.changedAreas(src, from, null, since, 0, from.size).extents();
  }

  /**
   * Deletes from the incoming volume the snapshots the source no longer has and returns how many
   * of the source's snapshots it holds; they must be the oldest ones.
   */
  private int reconcile(List<SnapshotState> want) throws IOException {
    for (SnapshotState have : VolumeTransplant.snapshotsOf(to)) {
      if (want.stream().noneMatch(w -> same(w, have))) {
        withCommitLock(() -> TransplantSwitch.dropSnapshot(dst, to, have));
      }
    }
    List<SnapshotState> have = VolumeTransplant.snapshotsOf(to);
    for (int i = 0; i < have.size(); i++) {
      if (i >= want.size() || !same(want.get(i), have.get(i))) {
        throw new DatastoreException("cannot resume the copy of volume " + from.name + " in " + dst.dir()
            + ": its snapshot " + have.get(i).name() + " does not match the source's history (discard the copy and "
            + "begin again)");
      }
    }
    return have.size();
  }

  /** Returns whether two snapshots are the same point of history: same name, same generation. */
  static boolean same(SnapshotState a, SnapshotState b) {
    return a.name().equals(b.name()) && a.generation() == b.generation();
  }

  /** Makes the incoming volume's writes from now on born in {@code generation}. */
  private void setBirth(long generation) throws IOException {
    withCommitLock(() -> to.setIncoming(to.incoming().next(generation, false), to.committedGeneration()));
  }

  /**
   * Commits, in one batch, the head writes copied for source snapshot {@code s}, a snapshot of the
   * incoming volume with its name, creation time and generation, the incoming volume's generation
   * set to it, and writes from then on born in {@code nextBirth}.
   */
  private void commitSnapshot(SnapshotState s, long nextBirth, boolean headNext) throws IOException {
    withCommitLock(() -> {
      CommitPipeline commits = dst.commits();
      SnapshotRecord r = new SnapshotRecord(commits.newId(), to.id, s.name(), s.generation(), s.record.created());
      commits.stage(batch -> batch.put(dst.meta().catalog, Keys.catalog('n', r.id()), r.encode()));
      to.setIncoming(to.incoming().next(nextBirth, headNext), s.generation());
      to.addSnapshot(new SnapshotState(r, dst.meta()));
      commits.flushLocked();
    });
  }

  /** An action on the incoming volume's datastore under its commit lock. */
  @FunctionalInterface
  private interface Locked {
    void run() throws IOException;
  }

  /** Runs {@code action} holding the destination's commit lock exclusively, refusing once the copy is gone. */
  private void withCommitLock(Locked action) throws IOException {
    CommitPipeline commits = dst.commits();
    commits.lock().writeLock().lock();
    try {
      commits.checkOpen();
      if (to.isDeleted() || to.incoming() == null) {
        throw new IllegalStateException("the copy of volume " + from.name + " in " + dst.dir()
            + " was discarded or published meanwhile");
      }
      action.run();
    } finally {
      commits.lock().writeLock().unlock();
    }
  }
}
