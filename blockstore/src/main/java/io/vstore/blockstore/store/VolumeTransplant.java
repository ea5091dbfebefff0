package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.SnapshotRef;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * Builds, in a destination datastore, a copy of a source datastore's volume with its history:
 * the same uuid (so its change ids stay valid), its snapshots (names, creation times, generations)
 * with the sharing between them, and at {@link #finish} its committed generation, change log and
 * pins. The live head is the caller's (the mover's): {@link #head} is the incoming volume's head,
 * writable, which starts as the newest snapshot's content, and {@link #headRangesToCopy} says what
 * the source's head changed since then.
 *
 * <p><b>History.</b> {@link #begin} replays the source's snapshots oldest first: into the incoming
 * head it writes what changed between one snapshot and the next (the source's change log answers
 * that, exactly to the block, because snapshot generations are never merged), with the writes born
 * in the snapshot's generation, then takes the snapshot with the source's generation. Data one
 * snapshot shares with the next is therefore written once, as on the source. An incoming volume's
 * generation stands still while it is built (its flushes write no change-log row), and its head
 * writes after the newest snapshot are born one past that snapshot's generation, which is at most
 * the source's committed generation at the switch.
 *
 * <p><b>Switch.</b> {@link #finish} (or {@link #publish} with writes held and {@link #writeSwitch}
 * after), with the source quiesced, holds both datastores' commit locks and in one unsynced commit
 * of the destination copies the source's change-log rows verbatim (keys
 * re-numbered to the new volume id) plus one for what the source changed since its last flush,
 * copies its pins, sets the generation to the source's and publishes the volume under its name;
 * {@link #syncSwitch} then makes it durable. A change id taken on the source before the move is then
 * answered alike on the destination, and after further writes there too.
 *
 * <p><b>Crash safety.</b> The incoming volume is an ordinary catalog entry marked
 * {@link VolumeRecord#incoming}: no name finds it, listings leave it out, and only the commit of
 * {@link #finish} clears the mark. A crash before leaves it marked; the destination's next open
 * deletes it unless the mark carries a claim ({@link TransplantOptions#claim}, a mover's job id),
 * in which case {@link #incoming} lists it and {@link #begin} with the same claim resumes it (the
 * snapshots copied stay; a half-copied step is rolled back) or {@link #discard} deletes it.
 *
 * <p>Between {@code begin} and {@code finish} the caller keeps the source's history still: no
 * snapshot created and no revert (a snapshot deleted meanwhile is deleted on the copy at the
 * switch; one created makes {@code finish} refuse). Linked clones move only flattened; a volume
 * whose snapshots have linked clones does not move (its clones would lose their parent).
 */
public final class VolumeTransplant implements Closeable {
  private final Datastore source;
  private final Datastore dest;
  private final VolumeState from;
  private final VolumeState to;
  private final String claim;
  private final Volume head;
  private final List<Extent> headRanges;
  private final long bytesCopied;
  private volatile boolean finished;
  private volatile boolean aborted;
  /** The switch {@link #prepareSwitch} read ahead for, or null; the one {@link #finish} ran, or null. */
  private volatile TransplantSwitch prepared;
  private volatile TransplantSwitch switched;

  private VolumeTransplant(Datastore source, Datastore dest, VolumeState from, VolumeState to, String claim,
      List<Extent> headRanges, long bytesCopied) {
    this.source = source;
    this.dest = dest;
    this.from = from;
    this.to = to;
    this.claim = claim;
    this.head = new Volume(dest, to, null, false);
    this.headRanges = List.copyOf(headRanges);
    this.bytesCopied = bytesCopied;
  }

  /**
   * Creates in {@code dest} an incoming (hidden) copy of {@code source}'s volume {@code volume}
   * with all its snapshots, or resumes the one {@code options}' claim left there, and returns once
   * the snapshots are copied; the head then holds the newest snapshot's content.
   *
   * @throws UnsupportedOperationException for a linked clone without {@link TransplantOptions#flatten},
   *     or a volume whose snapshots have linked clones
   */
  public static VolumeTransplant begin(Datastore source, String volume, Datastore dest, TransplantOptions options)
      throws IOException {
    Objects.requireNonNull(options, "options");
    if (source == dest || source.path().toAbsolutePath().normalize().equals(dest.path().toAbsolutePath().normalize())) {
      throw new IllegalArgumentException("cannot move volume " + volume + " from " + source + " to itself");
    }
    source.checkOpen();
    dest.checkOpen();
    StoreParts src = source.parts();
    StoreParts dst = dest.parts();
    VolumeState from = src.volumes().get(volume);
    checkMovable(from, options.flatten(), dst);
    VolumeState to;
    boolean resumed;
    dst.commits().lock().writeLock().lock();
    try {
      dest.checkOpen();
      checkUuidFree(from, dst);
      to = IncomingVolumes.find(dst, from.uuid.toString());
      resumed = to != null;
      if (resumed) {
        String owner = to.incoming().claim();
        if (options.claim() == null || !options.claim().equals(owner)) {
          throw new DatastoreException("datastore " + dst.dir() + " already holds an unfinished copy of volume " + volume
              + " (uuid " + from.uuid + ", " + (owner == null ? "unclaimed" : "claimed by " + owner)
              + "): resume it with its claim or discard it first");
        }
      } else {
        List<SnapshotState> snaps = snapshotsOf(from);
        long birth = snaps.isEmpty() ? 1 : snaps.getFirst().generation();
        VolumeRecord.Incoming mark = IncomingVolumes.mark(src.capacity().descriptor().uuid().toString(), from.name,
            options.claim(), birth).next(birth, snaps.isEmpty());
        to = IncomingVolumes.create(dst, from, mark);
      }
    } finally {
      dst.commits().lock().writeLock().unlock();
    }
    try {
      TransplantHistory history = new TransplantHistory(source, from, dest, to, options.progress());
      List<Extent> headRanges = history.copy(resumed);
      return new VolumeTransplant(source, dest, from, to, options.claim(), headRanges, history.bytesCopied());
    } catch (IOException | RuntimeException e) {
      if (options.claim() == null) {
        try {
          IncomingVolumes.delete(dst, to); // nothing could resume it
        } catch (IOException | RuntimeException again) {
          e.addSuppressed(again);
        }
      }
      throw e;
    }
  }

  /** Throws unless {@code v} may move: a linked clone only flattened, no snapshot with linked clones. */
  private static void checkMovable(VolumeState v, boolean flatten, StoreParts dst) {
    v.lock.readLock().lock();
    try {
      if (v.parent() != null && !flatten) {
        throw new UnsupportedOperationException("cannot move volume " + v.name + ": it is a linked clone of "
            + v.parent().name + "@" + v.parentSnapshot().name() + ", which stays in its datastore; move it flattened "
            + "(--flatten: what it shares with its parent is copied to " + dst.dir() + ")");
      }
      for (SnapshotState s : v.snapshots()) {
        List<String> clones = s.clones.stream().filter(c -> !c.isDeleted()).map(c -> c.name).sorted().toList();
        if (!clones.isEmpty()) {
          throw new UnsupportedOperationException("cannot move volume " + v.name + ": snapshot " + v.name + "@"
              + s.name() + " has linked clones " + String.join(", ", clones) + ", which would lose their parent "
              + "(flatten or delete them first)");
        }
      }
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /** Throws if a published volume of {@code dst} has {@code from}'s uuid: change ids would be ambiguous. */
  private static void checkUuidFree(VolumeState from, StoreParts dst) throws DatastoreException {
    for (VolumeState v : dst.volumes().all()) {
      if (v.uuid.equals(from.uuid)) {
        throw new DatastoreException("cannot move volume " + from.name + " to " + dst.dir() + ": its volume " + v.name
            + " has the same uuid " + v.uuid + " (a copy moved there before; delete it first)");
      }
    }
  }

  /** Returns {@code v}'s snapshots, oldest first, as of now. */
  static List<SnapshotState> snapshotsOf(VolumeState v) {
    v.lock.readLock().lock();
    try {
      return List.copyOf(v.snapshots());
    } finally {
      v.lock.readLock().unlock();
    }
  }

  /**
   * Returns the incoming volume's head: writable, holding the newest snapshot's content (nothing
   * when the source has none) until the caller copies the rest into it. After {@link #finish} it
   * is the published volume's head.
   */
  public Volume head() {
    return head;
  }

  /**
   * Returns the byte ranges of the source's head that differ from what {@link #head} holds, as of
   * the end of {@link #begin}: what the source's change log says changed since its newest snapshot
   * (every data extent when it has none), less what it shares with a snapshot. A region outside
   * these ranges counts as already copied: writes to it must go to both sides. Writes to the
   * source during and after {@code begin} are not reliably in it: a mover intercepts the source
   * before calling {@code begin} and copies what was written until it could mirror, too.
   */
  public List<Extent> headRangesToCopy() {
    return headRanges;
  }

  /** Returns the bytes of snapshot data {@link #begin} copied (this run; a resumed run counts only its own). */
  public long historyBytesCopied() {
    return bytesCopied;
  }

  /** Returns the uuid of the volume moved: the source's and the copy's. */
  public String uuid() {
    return from.uuid.toString();
  }

  /**
   * Publishes the copy as volume {@code name} of the destination, with the source's generation,
   * change log and pins, in one commit of the destination written but not synced (a killed process
   * keeps it; {@link #syncSwitch} makes it durable against a power loss), committing nothing on the
   * source and syncing nothing. Call with the source quiesced (no write in flight, none accepted
   * until this returns) and the head copied, after flushing both datastores: the head's changes
   * since the destination's last flush stay pending, as unflushed writes do. Flush the source after
   * if it is to be read again. Returns the change id of the source's head at the switch, which
   * names the same point on the destination (on the source once it is flushed). Refused, changing
   * nothing, when {@code name} is taken, a pin label clashes, or a snapshot was created on the
   * source since {@code begin}. The same as {@link #publish} then {@link #writeSwitch}.
   */
  public String finish(String name) throws IOException {
    String changeId = publish(name);
    writeSwitch();
    return changeId;
  }

  /**
   * Does {@link #finish}'s work in memory only, about a millisecond with no I/O: the copy serves
   * as {@code name} from here, and its commit is staged as the destination's next. Call {@link
   * #writeSwitch} next, once the source's writers are released: until then every later commit of
   * the destination (a flush, a change-id query) waits for it. A crash before it leaves the source
   * authoritative, as before {@code finish}; no client's flush on the destination can have returned.
   */
  public String publish(String name) throws IOException {
    SnapshotRef.checkName("volume", name);
    checkRunning();
    TransplantSwitch s = prepared != null ? prepared : new TransplantSwitch(source.parts(), from, dest.parts(), to);
    switched = s;
    long generation = s.run(name, firstLocked());
    finished = true;
    return from.uuid + "/" + generation;
  }

  /** Writes {@link #publish}'s commit, not synced, after every earlier commit of the destination; idempotent. */
  public void writeSwitch() throws IOException {
    TransplantSwitch s = switched;
    if (s != null) {
      s.write();
    }
  }

  /**
   * Reads what {@link #finish} needs of the source's history that is already committed (its
   * change-log rows), so that {@code finish}, called with writes held, reads only what is newer.
   * Call after flushing the source, shortly before {@code finish}; optional.
   */
  public void prepareSwitch() throws IOException {
    checkRunning();
    TransplantSwitch s = new TransplantSwitch(source.parts(), from, dest.parts(), to);
    s.prepare();
    prepared = s;
  }

  /** Describes where the time of {@link #finish} went (locks, reads, the commit), for a log line after the hold. */
  public String switchTimings() {
    TransplantSwitch s = switched;
    return s == null ? "not switched" : s.timings();
  }

  /** Makes {@link #finish}'s commit durable, with everything the destination holds: one synced commit. */
  public void syncSwitch() throws IOException {
    if (!finished) {
      throw new IllegalStateException("the move of volume " + from.name + " has not switched over");
    }
    writeSwitch();
    dest.parts().commits().syncCatalog();
  }

  /** Returns whether {@link #finish} takes the source's commit lock before the destination's: a fixed order. */
  private boolean firstLocked() {
    return source.path().toAbsolutePath().normalize().toString()
        .compareTo(dest.path().toAbsolutePath().normalize().toString()) < 0;
  }

  /** Deletes the incoming volume and everything {@link #begin} made; the source is untouched. Idempotent. */
  public void abort() throws IOException {
    if (finished) {
      throw new IllegalStateException("the move of volume " + from.name + " is finished: delete the volume instead");
    }
    if (aborted) {
      return;
    }
    IncomingVolumes.delete(dest.parts(), to);
    aborted = true;
  }

  private void checkRunning() {
    if (finished || aborted || to.isDeleted()) {
      throw new IllegalStateException("the move of volume " + from.name + " is " + (finished ? "finished" : "aborted"));
    }
  }

  /**
   * Ends this handle: an unfinished, unclaimed transplant is aborted (nothing could resume it); a
   * claimed one stays for {@link #begin} with its claim to resume.
   */
  @Override
  public void close() throws IOException {
    if (!finished && !aborted && claim == null && dest.isOpen()) {
      abort();
    }
  }

  /** Returns the volumes transplants are building in {@code dest}, oldest first. */
  public static List<IncomingVolume> incoming(Datastore dest) {
    dest.checkOpen();
    return IncomingVolumes.list(dest.parts());
  }

  /** Deletes the incoming volume of uuid {@code uuid} from {@code dest}; refused when there is none. */
  public static void discard(Datastore dest, String uuid) throws IOException {
    dest.checkOpen();
    VolumeState v = IncomingVolumes.find(dest.parts(), uuid);
    if (v == null) {
      throw new DatastoreException("no incoming volume of uuid " + uuid + " in datastore " + dest.path());
    }
    IncomingVolumes.delete(dest.parts(), v);
  }

  @Override
  public String toString() {
    return "move of volume " + from.name + " from " + source.path() + " to " + dest.path();
  }
}
