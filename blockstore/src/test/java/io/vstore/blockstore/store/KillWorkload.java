package io.vstore.blockstore.store;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

/**
 * The child process of {@link KillNineTest}: opens a datastore and runs the deterministic
 * workload of a seed until it is killed, printing {@code S i} before starting operation i and
 * {@code F i} once every operation below i is flushed.
 */
final class KillWorkload {
  static final long SIZE = 16L << 20;
  static final int BLOCK = 4096;

  /** One operation of the workload: a write of {@code data} or, when it is null, a discard. */
  record Op(long offset, int length, byte[] data, boolean flushAfter) {}

  /** Returns operation {@code i} of the workload of {@code seed}. */
  static Op op(long seed, int i) {
    Random r = new Random(seed * 1_000_003L + i);
    int blocks = 1 + r.nextInt(64);
    long offset = (long) BLOCK * r.nextInt((int) (SIZE / BLOCK) - blocks);
    boolean flush = r.nextInt(15) == 0;
    if (r.nextInt(10) == 0) {
      return new Op(offset, blocks * BLOCK, null, flush);
    }
    return new Op(offset, blocks * BLOCK, Workloads.data(r, blocks * BLOCK).array(), flush);
  }

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    long seed = Long.parseLong(args[1]);
    PrintStream out = new PrintStream(System.out, true);
    DatastoreOptions options = DatastoreOptions.defaults().withSegmentBytes(4L << 20)
        .withCleanerInterval(Duration.ofMillis(100)).withFlushThreshold(100);
    Datastore ds = Datastore.openOrCreate(dir, options);
    Volume v = ds.hasVolume("v") ? ds.volume("v") : ds.createVolume("v", SIZE);
    out.println("READY");
    for (int i = 0; ; i++) {
      Op op = op(seed, i);
      out.println("S " + i);
      if (op.data() == null) {
        v.discard(op.offset(), op.length());
      } else {
        v.write(op.offset(), ByteBuffer.wrap(op.data()));
      }
      if (op.flushAfter()) {
        v.flush();
        out.println("F " + (i + 1));
      }
    }
  }
}
