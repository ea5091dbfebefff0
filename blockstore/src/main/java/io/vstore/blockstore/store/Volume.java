package io.vstore.blockstore.store;

import io.vstore.blockstore.AlreadyClosedException;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.IoObserver;
import io.vstore.blockstore.OutOfRangeException;
import io.vstore.blockstore.ReadOnlyDeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A handle on a thin volume of a {@link Datastore}. Many handles may share one volume; closing a
 * handle flushes and invalidates that handle only.
 */
public final class Volume implements BlockDevice {
  private final Datastore store;
  private final VolumeState state;
  private final SnapshotState snapshot;
  private final VolumeView view;
  private final boolean readOnly;
  private volatile boolean closed;

  /** Opens a handle on {@code state}'s head, or on its snapshot {@code snapshot} (always read-only). */
  Volume(Datastore store, VolumeState state, SnapshotState snapshot, boolean readOnly) {
    this.store = store;
    this.state = state;
    this.snapshot = snapshot;
    this.view = snapshot == null ? state.headView() : state.view(snapshot);
    this.readOnly = readOnly || snapshot != null;
  }

  /** Returns the device's name: the volume's, or {@code volume@snapshot}. */
  public String name() {
    return snapshot == null ? state.name : state.name + "@" + snapshot.name();
  }

  /** Returns the volume's figures, flushing first so that the change id names the current state. */
  public VolumeInfo info() throws IOException {
    Volume f = forward();
    if (f != null) {
      return f.info();
    }
    checkOpen();
    return store.volumeInfo(state.name);
  }

  @Override
  public long size() {
    return state.size;
  }

  @Override
  public void read(long offset, ByteBuffer dst) throws IOException {
    Volume f = forward();
    if (f != null) {
      f.read(offset, dst);
      return;
    }
    checkOpen();
    int bytes = dst.remaining();
    OutOfRangeException.check(this, offset, bytes);
    store.noteForegroundOp();
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    view.read(offset, dst);
    if (o != null) {
      o.completed(state.name, IoObserver.Op.READ, bytes, System.nanoTime() - start);
    }
  }

  /**
   * Plans the read of {@code dst.remaining()} bytes at {@code offset} for a caller that performs
   * the file reads itself ({@link ReadPlan}), many at once; zeros and data still in memory are in
   * {@code dst} on return, the rest once the plan is finished. Returns null when this read cannot
   * be planned (not whole 4 KiB blocks, a heap buffer, or segments that are not plain files);
   * {@link #read} then does it. {@code dst}'s position does not move.
   */
  public ReadPlan planRead(long offset, ByteBuffer dst, ReadPlan.Scratch scratch) throws IOException {
    Volume f = forward();
    if (f != null) {
      return f.planRead(offset, dst, scratch);
    }
    checkOpen();
    OutOfRangeException.check(this, offset, dst.remaining());
    store.noteForegroundOp();
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    ReadPlan plan = dst.isDirect() ? view.planRead(offset, dst, scratch) : null;
    if (plan != null && snapshot == null) {
      // How many places the read needs tells the cleaner which ranges to write back in order.
      state.writer().fragmented().noteRead(offset / VolumeState.BLOCK, (offset + dst.remaining()) / VolumeState.BLOCK,
          plan.fileReads().size());
    }
    if (plan != null && o != null) {
      plan.observe(o, state.name, dst.remaining(), start); // the read completes when the caller finishes the plan
    }
    return plan;
  }

  /** Returns the volume this handle is on. */
  VolumeState state() {
    return state;
  }

  /** Returns whether {@link #planRead} can plan reads here (the segments are plain files of this machine). */
  public boolean plansReads() {
    Volume f = forward();
    return f != null ? f.plansReads() : view.plansReads();
  }

  @Override
  public void write(long offset, ByteBuffer src) throws IOException {
    Volume f = forward();
    if (f != null) {
      f.write(offset, src);
      return;
    }
    checkWritable();
    int bytes = src.remaining();
    OutOfRangeException.check(this, offset, bytes);
    store.noteForegroundOp();
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    state.interception.write(offset, src, state.writer());
    if (o != null) {
      o.completed(state.name, IoObserver.Op.WRITE, bytes, System.nanoTime() - start);
    }
  }

  @Override
  public void flush() throws IOException {
    Volume f = forward();
    if (f != null) {
      f.flush();
      return;
    }
    checkOpen();
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    state.interception.flush(store);
    if (o != null) {
      o.completed(state.name, IoObserver.Op.FLUSH, 0, System.nanoTime() - start);
    }
  }

  @Override
  public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
    Volume f = forward();
    if (f != null) {
      f.writeZeroes(offset, length, mayUnmap);
      return;
    }
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    // A thin volume holds zeros by holding nothing, so zeroing always releases whole blocks.
    store.noteForegroundOp();
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    zero(offset, length, false);
    if (o != null) {
      o.completed(state.name, IoObserver.Op.ZERO, length, System.nanoTime() - start);
    }
  }

  @Override
  public void discard(long offset, long length) throws IOException {
    Volume f = forward();
    if (f != null) {
      f.discard(offset, length);
      return;
    }
    checkWritable();
    OutOfRangeException.check(this, offset, length);
    IoObserver o = store.ioObserver();
    long start = o == null ? 0 : System.nanoTime();
    zero(offset, length, true);
    if (o != null) {
      o.completed(state.name, IoObserver.Op.DISCARD, length, System.nanoTime() - start);
    }
  }

  private void zero(long offset, long length, boolean discard) throws IOException {
    state.interception.zero(offset, length, discard, state.writer());
  }

  @Override
  public List<Extent> allocation(long offset, long length) throws IOException {
    Volume f = forward();
    if (f != null) {
      return f.allocation(offset, length);
    }
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    return view.allocation(offset, length);
  }

  /**
   * Returns which layer of the volume's clone chain holds each run of {@code [offset, offset + length)},
   * in order and without gaps: 1 for this volume (or snapshot view) itself, 2 for the snapshot it is a
   * linked clone of, and so on, 0 where no layer holds anything. Recorded zeros count as held.
   */
  public List<DepthExtent> allocationDepth(long offset, long length) throws IOException {
    Volume f = forward();
    if (f != null) {
      return f.allocationDepth(offset, length);
    }
    checkOpen();
    OutOfRangeException.check(this, offset, length);
    return view.allocationDepth(offset, length);
  }

  @Override
  public boolean isReadOnly() {
    return readOnly;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    // A forwarding handle's target is shared by every handle of the moved volume; its owner flushes and closes it.
    if (forward() == null && !readOnly && store.isOpen()) {
      store.flush();
    }
  }

  /** Returns where a head handle forwards every call once its volume has moved, or null. */
  private Volume forward() {
    return snapshot == null ? state.forward : null;
  }

  private void checkOpen() {
    if (closed || state.isDeleted() || !store.isOpen() || (snapshot != null && snapshot.deleted)) {
      throw new AlreadyClosedException(this);
    }
  }

  private void checkWritable() throws ReadOnlyDeviceException {
    checkOpen();
    if (readOnly) {
      throw new ReadOnlyDeviceException(this);
    }
  }

  @Override
  public String toString() {
    return (snapshot == null ? "volume " : "snapshot ") + name();
  }
}
