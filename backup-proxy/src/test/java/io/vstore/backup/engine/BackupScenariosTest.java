package io.vstore.backup.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.repo.ChunkRef;
import io.vstore.backup.repo.PointReader;
import io.vstore.blockstore.store.ChangePin;
import io.vstore.blockstore.store.Volume;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backups while a guest writes over NBD, interrupted backups and restores, and a lost change id. */
class BackupScenariosTest {
  private static final int CHUNK = 64 << 10;

  @TempDir Path tmp;

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static void write(BackupFixture f, String volume, long offset, byte[] data) throws IOException {
    try (Volume v = f.ds.volume(volume)) {
      v.write(offset, ByteBuffer.wrap(data));
      v.flush();
    }
  }

  private static byte[] content(BackupFixture f, String volume) throws IOException {
    try (Volume v = f.ds.volume(volume, true)) {
      return BackupFixture.readAll(v);
    }
  }

  private static byte[] pointContent(BackupFixture f, String point) throws IOException {
    try (PointDevice d = PointDevice.open(f.repo, point)) {
      return BackupFixture.readAll(d);
    }
  }

  /** Fills a 64 KiB block with 16-byte stamps (block, generation): any 4 KiB of it says which write it came from. */
  private static byte[] stamp(int block, long generation) {
    ByteBuffer b = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      b.putLong(block + 1).putLong(generation);
    }
    return b.array();
  }

  @Test
  void backupWhileAGuestWritesThroughNbd() throws Exception {
    int blocks = 128;
    try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
      f.ds.createVolume("guest", (long) blocks * CHUNK).close();
      ExportRegistry registry = new ExportRegistry();
      long[] lastGeneration = new long[blocks];
      AtomicLong writes = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> writerFailure = new AtomicReference<>();
      try (Volume head = f.ds.volume("guest")) {
        registry.add(Export.of("disk", head));
        try (NbdServer server = NbdServer.start(registry,
            new NbdServer.Options(InetAddress.getLoopbackAddress(), 0, null, false))) {
          Thread writer = Thread.ofPlatform().start(() -> {
            Random rnd = new Random(7);
            try (NbdWriter w = new NbdWriter(server.port(), "disk")) {
              for (long gen = 1; !stop.get(); gen++) {
                int block = rnd.nextInt(blocks);
                w.write((long) block * CHUNK, stamp(block, gen));
                synchronized (lastGeneration) {
                  lastGeneration[block] = gen;
                }
                writes.incrementAndGet();
                if (gen % 16 == 0) {
                  w.flush();
                }
              }
              w.flush();
            } catch (Throwable t) {
              writerFailure.set(t);
            }
          });
          try {
            waitForWrites(writes, 200, writerFailure);
            BackupResult first = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("guest");
            assertThat(first.mode()).isEqualTo("full");
            waitForWrites(writes, writes.get() + 200, writerFailure);
            BackupResult during = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("guest");
            assertThat(during.mode()).isEqualTo("incremental");
            stop.set(true);
            writer.join();
            assertThat(writerFailure.get()).isNull();
            // Every 4 KiB of the points taken while the guest wrote is one whole write (or never written).
            for (BackupResult r : List.of(first, during)) {
              byte[] got = pointContent(f, r.point().id());
              ByteBuffer b = ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN);
              for (int off = 0; off < got.length; off += 4096) {
                long block = b.getLong(off);
                long gen = b.getLong(off + 8);
                for (int i = off; i < off + 4096; i += 16) {
                  assertThat(b.getLong(i)).as("point %s at %d", r.point().id(), i).isEqualTo(block);
                  assertThat(b.getLong(i + 8)).as("point %s at %d", r.point().id(), i).isEqualTo(gen);
                }
                assertThat(block).as("block stamp at %d", off).isIn(0L, (long) off / CHUNK + 1);
              }
            }
            // After the guest stopped, the next incremental point holds exactly what the volume holds.
            BackupResult last = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("guest");
            assertThat(last.mode()).isEqualTo("incremental");
            assertThat(pointContent(f, last.point().id())).isEqualTo(content(f, "guest"));
            assertThat(f.ds.snapshots("guest")).isEmpty();
            assertThat(f.ds.changePins("guest")).hasSize(1); // only the newest point's change id stays pinned
          } finally {
            stop.set(true);
            writer.join();
          }
        }
      }
    }
  }

  private static void waitForWrites(AtomicLong writes, long atLeast, AtomicReference<Throwable> failure)
      throws InterruptedException {
    while (writes.get() < atLeast && failure.get() == null) {
      Thread.sleep(5);
    }
    assertThat(failure.get()).isNull();
  }

  @Test
  void anInterruptedBackupIsNotSentAgain() throws IOException {
    try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
      int size = 16 << 20;
      f.ds.createVolume("v", size).close();
      write(f, "v", 0, random(size, 1));
      assertThatThrownBy(() -> new BackupRun(f.ds, f.repo, BackupListener.NONE)
          .sourceFilter(d -> new FailingReads(d, 10L << 20)).volume("v"))
          .hasMessageContaining("injected read failure");
      assertThat(f.ds.snapshots("v")).as("the backup's snapshot is deleted after a failure").isEmpty();
      assertThat(f.repo.points()).isEmpty();
      f.reopenRepository(); // as a new process: only what the repository made durable counts
      long stored = f.repo.chunkCount();
      assertThat(stored).as("chunks stored before the failure").isGreaterThan(0);
      BackupResult r = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v");
      assertThat(r.mode()).isEqualTo("full");
      assertThat(r.chunks()).isEqualTo(size / CHUNK);
      assertThat(r.newChunks()).as("the rerun sends only what was missing").isEqualTo(size / CHUNK - stored);
      assertThat(pointContent(f, r.point().id())).isEqualTo(content(f, "v"));
    }
  }

  @Test
  void anInterruptedRestoreContinuesWithoutFetchingAgain() throws IOException {
    try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
      int size = 8 << 20;
      f.ds.createVolume("v", size).close();
      write(f, "v", 0, random(size, 2));
      write(f, "v", 1 << 20, new byte[1 << 20]); // a hole in the middle
      String id = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v").point().id();
      Path record = tmp.resolve("restore.progress");
      try (PointReader p = f.repo.openPoint(id); Volume out = f.ds.createVolume("r", size)) {
        assertThatThrownBy(() -> new PointRestore(f.repo, p, BackupListener.NONE).workers(3).progressFile(record)
            // 100 of the 112 data chunks: the restore goes in pack order, which is the order the two
            // workers stored the two 4 MiB pieces, either first; even with the second piece first, the
            // mark is then past the hole.
            .checkpointBytes(1 << 20).failAfterChunks(100).into(out))
            .hasMessageContaining("injected failure");
        RestoreProgress saved = RestoreProgress.load(record);
        assertThat(saved).isNotNull();
        assertThat(saved.pointId()).isEqualTo(id);
        assertThat(saved.doneChunks()).isGreaterThan(16); // past the hole at least one checkpoint went by
        AtomicLong written = new AtomicLong();
        BackupListener counting = new BackupListener() {
          @Override
          public void progress(long doneBytes) {
            written.accumulateAndGet(doneBytes, Math::max);
          }
        };
        long dataChunksBelowMark = countChunks(p, 0, saved.doneChunks());
        new PointRestore(f.repo, p, counting).workers(2).progressFile(record).into(out);
        assertThat(written.get()).as("the rerun writes only chunks at or beyond the mark")
            .isEqualTo((long) (size / CHUNK - 16 - dataChunksBelowMark) * CHUNK);
        assertThat(Files.exists(record)).isFalse();
        assertThat(BackupFixture.readAll(out)).isEqualTo(content(f, "v"));
      }
    }
  }

  private static long countChunks(PointReader p, long from, long to) throws IOException {
    AtomicInteger n = new AtomicInteger();
    Consumer<ChunkRef> count = ref -> n.incrementAndGet();
    p.forEach(from, to, count);
    return n.get();
  }

  @Test
  void aLostChangeIdReadsEverythingButStoresOnlyWhatIsMissing() throws IOException {
    try (BackupFixture f = new BackupFixture(tmp, CHUNK)) {
      f.ds.createVolume("v", 4 << 20).close();
      write(f, "v", 0, random(2 << 20, 3));
      new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v");
      List<ChangePin> pins = f.ds.changePins("v");
      assertThat(pins).hasSize(1);
      f.ds.unpinChangeId(pins.getFirst().label());
      for (int i = 0; i < 20; i++) { // more generations than a volume keeps unpinned: the change id is merged away
        write(f, "v", 3L << 20, random(4096, 10 + i));
      }
      List<String> log = new ArrayList<>();
      BackupListener listener = new BackupListener() {
        @Override
        public void log(String line) {
          log.add(line);
        }
      };
      BackupResult r = new BackupRun(f.ds, f.repo, listener).volume("v");
      assertThat(r.mode()).isEqualTo("full-change-id-lost");
      assertThat(r.note()).contains("cannot be answered");
      assertThat(log).anyMatch(l -> l.contains("reading everything allocated"));
      assertThat(r.bytesRead()).isEqualTo((2 << 20) + CHUNK);
      assertThat(r.newChunks()).as("only the rewritten chunk is new").isEqualTo(1);
      assertThat(pointContent(f, r.point().id())).isEqualTo(content(f, "v"));
      BackupResult next = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v");
      assertThat(next.mode()).isEqualTo("incremental"); // pinned again
    }
  }

  @Test
  void aPointDeviceServesManyThreadsAtOnce() throws Exception {
    try (BackupFixture f = new BackupFixture(tmp, 16 << 10)) {
      int size = (4 << 20) + (8 << 10); // a short last chunk
      f.ds.createVolume("v", size).close();
      Random rnd = new Random(11);
      for (int i = 0; i < 40; i++) {
        write(f, "v", rnd.nextInt(size / 4096) * 4096L, random(4096 * (1 + rnd.nextInt(8)), i));
      }
      byte[] want = content(f, "v");
      String id = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v").point().id();
      try (PointDevice d = PointDevice.open(f.repo, id)) {
        assertThat(d.isReadOnly()).isTrue();
        assertThatThrownBy(() -> d.write(0, ByteBuffer.allocate(1)))
            .isInstanceOf(io.vstore.blockstore.ReadOnlyDeviceException.class);
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < 6; t++) {
          long seed = t;
          threads.add(Thread.ofPlatform().start(() -> {
            Random r = new Random(seed);
            try {
              for (int i = 0; i < 300 && failure.get() == null; i++) {
                int off = r.nextInt(size);
                int len = 1 + r.nextInt(Math.min(size - off, 70_000));
                ByteBuffer got = ByteBuffer.allocate(len);
                d.read(off, got);
                assertThat(got.array()).as("%d+%d", off, len)
                    .isEqualTo(java.util.Arrays.copyOfRange(want, off, off + len));
                long pos = off;
                for (io.vstore.blockstore.Extent e : d.allocation(off, len)) {
                  assertThat(e.offset()).isEqualTo(pos);
                  pos = e.end();
                  if (e.kind() != io.vstore.blockstore.Extent.Kind.DATA) {
                    for (long b = e.offset(); b < e.end(); b++) {
                      assertThat(want[(int) b]).as("hole byte %d", b).isZero();
                    }
                  }
                }
                assertThat(pos).isEqualTo(off + len);
              }
            } catch (Throwable e) {
              failure.compareAndSet(null, e);
            }
          }));
        }
        for (Thread t : threads) {
          t.join();
        }
        if (failure.get() != null) {
          throw new AssertionError(failure.get());
        }
      }
    }
  }

  @Test
  void diffSkipsPagesTwoPointsShare() throws IOException {
    try (BackupFixture f = new BackupFixture(tmp, 16 << 10)) {
      int pageChunks = f.repo.config().pageChunks();
      long size = 4L * pageChunks * (16 << 10);
      f.ds.createVolume("v", size).close();
      for (int p = 0; p < 4; p++) {
        write(f, "v", (long) p * pageChunks * (16 << 10), random(50_000, p));
      }
      String a = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v").point().id();
      long changedAt = 2L * pageChunks * (16 << 10) + (40 << 10);
      write(f, "v", changedAt, random(100, 9));
      String b = new BackupRun(f.ds, f.repo, BackupListener.NONE).volume("v").point().id();
      try (PointReader ra = f.repo.openPoint(a); PointReader rb = f.repo.openPoint(b)) {
        AtomicInteger pagesRead = new AtomicInteger();
        PointReader counting = new CountingReader(ra, pagesRead);
        List<long[]> ranges = new ArrayList<>();
        long bytes = PointDiff.run(counting, rb, pageChunks, (off, len) -> ranges.add(new long[] {off, len}));
        assertThat(ranges).hasSize(1);
        assertThat(ranges.getFirst()[0]).isEqualTo(changedAt / (16 << 10) * (16 << 10));
        assertThat(bytes).isEqualTo(16 << 10);
        assertThat(pagesRead.get()).as("only the changed page is read").isEqualTo(1);
      }
    }
  }

  /** Delegates to a reader and counts the windows listed. */
  private record CountingReader(PointReader delegate, AtomicInteger forEachCalls) implements PointReader {
    @Override
    public io.vstore.backup.repo.PointInfo info() {
      return delegate.info();
    }

    @Override
    public long size() {
      return delegate.size();
    }

    @Override
    public int chunkSize() {
      return delegate.chunkSize();
    }

    @Override
    public ChunkRef chunk(long chunkIndex) throws IOException {
      return delegate.chunk(chunkIndex);
    }

    @Override
    public void forEach(long fromChunk, long toChunk, Consumer<ChunkRef> visitor) throws IOException {
      forEachCalls.incrementAndGet();
      delegate.forEach(fromChunk, toChunk, visitor);
    }

    @Override
    public boolean samePage(PointReader other, long page) {
      return delegate.samePage(other, page);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
