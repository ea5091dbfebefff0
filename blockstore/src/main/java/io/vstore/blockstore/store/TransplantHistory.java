package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import java.io.IOException;
import java.util.ArrayList;
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
  /** How many of the newest earlier snapshots a view is compared with to share instead of copy. */
  static final int SHARE_DEPTH = 32;
  /** Bytes shared by reference instead of copied. */
  private long shared;

  TransplantHistory(Datastore source, VolumeState from, Datastore dest, VolumeState to, TransplantProgress progress) {
    this.source = source;
    this.from = from;
    this.src = source.parts();
    this.dst = dest.parts();
    this.to = to;
    this.copier = new TransplantCopy(new Volume(dest, to, null, false), progress);
  }

  /** Returns the bytes shared from earlier snapshots by reference instead of copied. */
  long bytesShared() {
    return shared;
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
      ranges = notShared(from.view(s), want.subList(0, i), ranges);
      Volume view = new Volume(source, from, s, true);
      copier.copy(view, ranges, previous != null, from.name + "@" + s.name(), i + 1, want.size());
      commitSnapshot(s, i + 1 < want.size() ? want.get(i + 1).generation() : s.generation() + 1,
          i + 1 == want.size());
    }
    String since = want.isEmpty() ? "*" : ChangeTracking.changeId(from, want.getLast());
    List<Extent> head = ChangeTracking.changedAreas(src, from, null, since, 0, from.size).extents();
    return notShared(from.headView(), want, head);
  }

  /**
   * Returns the parts of {@code ranges} that the copy must take from {@code now} (a source view):
   * not those where {@code now} reads the same record blocks as the newest of {@code older} (the
   * source's snapshots before it, which the incoming head already holds), nor those where it reads
   * the same as another of the {@value #SHARE_DEPTH} newest, which are shared from the copy's
   * snapshot by reference ({@link VolumeState#shareFrom}). The change log reports, to the block,
   * what was rewritten however the data ended up; what a revert put back is the common case, and
   * copying it would store it twice where the source stores it once. Compares maps, not data.
   */
  private List<Extent> notShared(VolumeView now, List<SnapshotState> older, List<Extent> ranges)
      throws IOException {
    if (older.isEmpty() || ranges.isEmpty()) {
      return ranges;
    }
    List<long[]> left = new ArrayList<>();
    for (Extent r : ranges) {
      left.add(new long[] {r.offset() / VolumeState.BLOCK, (r.end() + VolumeState.BLOCK - 1) / VolumeState.BLOCK});
    }
    for (int j = older.size() - 1; j >= Math.max(0, older.size() - SHARE_DEPTH) && !left.isEmpty(); j--) {
      SnapshotState then = older.get(j);
      SnapshotState copy = j == older.size() - 1 ? null : copyOf(then);
      VolumeView view = from.view(then);
      List<long[]> still = new ArrayList<>();
      for (long[] r : left) {
        long at = r[0];
        for (long[] d : now.differing(view, r[0], r[1])) {
          share(copy, at, d[0]);
          still.add(d);
          at = d[1];
        }
        share(copy, at, r[1]);
      }
      left = still;
    }
    List<Extent> out = new ArrayList<>();
    int k = 0;
    for (long[] d : left) { // back to bytes, clipped to the ranges asked (the last block may pass the end)
      while (k < ranges.size() && ranges.get(k).end() <= d[0] * VolumeState.BLOCK) {
        k++;
      }
      for (int m = k; m < ranges.size() && ranges.get(m).offset() < d[1] * VolumeState.BLOCK; m++) {
        long a = Math.max(ranges.get(m).offset(), d[0] * VolumeState.BLOCK);
        long b = Math.min(ranges.get(m).end(), d[1] * VolumeState.BLOCK);
        if (a < b) {
          out.add(new Extent(a, b - a, Extent.Kind.DATA));
        }
      }
    }
    return out;
  }

  /** Makes blocks {@code [a, b)} of the incoming head read what {@code copy} reads; nothing for the newest snapshot (null). */
  private void share(SnapshotState copy, long a, long b) throws IOException {
    if (copy != null && a < b) {
      to.shareFrom(copy, a, b);
      shared += (b - a) * VolumeState.BLOCK;
    }
  }

  /** Returns the incoming volume's copy of source snapshot {@code s}. */
  private SnapshotState copyOf(SnapshotState s) {
    for (SnapshotState c : VolumeTransplant.snapshotsOf(to)) {
      if (same(c, s)) {
        return c;
      }
    }
    throw new IllegalStateException("the copy of volume " + from.name + " lacks snapshot " + s.name());
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
