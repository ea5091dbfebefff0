package io.vstore.offline.client;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.PolicyDocument;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code vstore checkout --stream} ("instant on"): the check-out's disks are exported over NBD at
 * once, each through a {@link StreamingDisk} that fetches what has not arrived on demand, while
 * {@link OfflineCopy#WORKERS} background fetches download the rest; a background fetch waits while
 * a guest waits for one of its own (on-demand fetches go first). When every chunk is there, the
 * base snapshot is taken with the guest's writes held for that instant, the copy becomes ready,
 * and the process goes on serving it like {@code vstore offline run}, control socket included.
 * Killed at any point, the same command resumes: chunks listed in {@code stream.log} are not
 * fetched again, and the guest's writes listed in {@code stream-dirty.log} go with the next check-in.
 */
public final class StreamingCheckout implements Closeable {
  /** What a background fetch asks for at once: small, so that a guest's fetch never waits long behind it. */
  static final int BACKGROUND_CHUNKS = 4;
  /** How much a background worker downloads between flushes (a flush syncs the datastore). */
  private static final long COMMIT_BYTES = 32L << 20;

  private final Path dir;
  private final OfflineRun run;
  private final List<StreamingDisk> disks;
  private final StreamLog presentLog;
  private final StreamLog dirtyLog;
  private final ServerConnection connection;
  private final CompletableFuture<Void> downloaded = new CompletableFuture<>();
  private final AtomicInteger demand = new AtomicInteger();
  private final Object demandDone = new Object();
  private final AtomicLong received = new AtomicLong();
  /** Where guests fetched on demand last (disk slot, next chunk), newest first: the background fetches there first. */
  private final java.util.concurrent.ConcurrentLinkedDeque<long[]> hints = new java.util.concurrent.ConcurrentLinkedDeque<>();
  private static final int MAX_HINTS = 16;
  /** How often a background fetch is tried before the download stops (1 + 2 + ... s between tries). */
  private static final int RETRIES = 6;
  /** How many chunks the background fetches after a guest's on-demand fetch. */
  private static final int HINT_CHUNKS = 8;
  /**
   * How long after a guest's last fetch ended the background's other workers stay idle: a guest
   * that reads on (a boot) fetches again within this, and on two cores every background fetch
   * under way takes CPU (TLS, sealing) from the fetches the guest waits for.
   */
  private static final long QUIET_NANOS = 300_000_000L;
  /** Bound in the first background worker: it keeps fetching while a guest reads, so the download never stalls. */
  private static final ScopedValue<Boolean> STEADY = ScopedValue.newInstance();
  /** When a guest's fetch last ended ({@link System#nanoTime}). */
  private volatile long lastDemandEnd = System.nanoTime() - QUIET_NANOS;
  private volatile boolean closing;
  private Thread background;

  private StreamingCheckout(Path dir, OfflineRun run, List<StreamingDisk> disks, StreamLog presentLog,
      StreamLog dirtyLog, ServerConnection connection) {
    this.dir = dir;
    this.run = run;
    this.disks = disks;
    this.presentLog = presentLog;
    this.dirtyLog = dirtyLog;
    this.connection = connection;
  }

  /**
   * Checks VM {@code vm} out of {@code server} into {@code dir} (or resumes a check-out there),
   * exports its disks on {@code listen} at once and starts the background download;
   * {@code progress} hears of each background fetch.
   */
  public static StreamingCheckout start(String vm, String server, String token, Path caCert, Path dir,
      char[] passphrase, InetSocketAddress listen, OfflineCopy.Progress progress) throws IOException {
    OfflineCopy.Begun b = OfflineCopy.begin(vm, server, token, caCert, dir, passphrase);
    Manifest m = b.manifest();
    PolicyDocument doc = m.policy().verify(m.publicKey());
    OfflineCopy.checkPolicy(doc, m, Instant.now()); // a resumed copy may have expired meanwhile
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Datastore store = ClientStore.createOrOpen(dir, b.key());
      opened.add(store);
      StreamLog presentLog = StreamLog.open(dir.resolve(StreamLog.PRESENT));
      opened.add(presentLog);
      StreamLog dirtyLog = StreamLog.open(dir.resolve(StreamLog.DIRTY));
      opened.add(dirtyLog);
      adoptTransferLog(dir, m, presentLog);
      ServerConnection c = new ServerConnection(m.server(), token, OfflineCopy.caPem(dir));
      opened.add(c);
      List<Volume> volumes = new ArrayList<>();
      for (Manifest.Disk d : m.disks()) {
        if (!store.hasVolume(d.volume())) {
          store.createVolume(d.volume(), d.size()).close();
        }
        Volume v = store.volume(d.volume());
        volumes.add(v);
        opened.add(v);
      }
      List<StreamingDisk> disks = new ArrayList<>();
      StreamingCheckout[] self = new StreamingCheckout[1];
      for (int i = 0; i < m.disks().size(); i++) {
        Manifest.Disk d = m.disks().get(i);
        String path = "/api/v1/checkouts/" + m.checkoutId() + "/disks/" + d.index() + "/data";
        int slot = i;
        disks.add(new StreamingDisk(d.index(), volumes.get(i),
            (offset, length, demand) -> self[0].fetch(slot, path, offset, length, demand), presentLog, dirtyLog));
      }
      OfflineCopy.Opened copy = new OfflineCopy.Opened(store, m.disks().stream().map(Manifest.Disk::volume).toList(),
          doc, m.vm(), m.config());
      OfflineRun run = OfflineRun.serve(dir, passphrase, copy, volumes, disks, () -> {
        for (StreamingDisk d : disks) {
          d.awaitFetches(10_000); // a read-ahead still under way lands before the volume closes
          d.commit(); // what arrived and what the guest wrote survive a clean stop
        }
      }, listen);
      opened.clear(); // the run owns the store and the volumes now
      StreamingCheckout s = new StreamingCheckout(dir, run, disks, presentLog, dirtyLog, c);
      self[0] = s;
      s.background = Thread.ofPlatform().name("vstore-stream-download").daemon().start(
          () -> s.download(dir, m, b.key(), store, progress));
      return s;
    } catch (IOException | RuntimeException e) {
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /** Lists as arrived the chunks of the units a check-out without --stream finished before. */
  private static void adoptTransferLog(Path dir, Manifest m, StreamLog presentLog) throws IOException {
    if (!Files.exists(dir.resolve(TransferProgress.FILE))) {
      return;
    }
    List<StreamLog.Run> runs = new ArrayList<>();
    try (TransferProgress p = TransferProgress.open(dir)) {
      for (Manifest.Disk d : m.disks()) {
        long units = (d.size() + OfflineCopy.UNIT - 1) / OfflineCopy.UNIT;
        long perUnit = OfflineCopy.UNIT >>> StreamingDisk.CHUNK_SHIFT;
        long chunks = (d.size() + StreamingDisk.CHUNK - 1) >>> StreamingDisk.CHUNK_SHIFT;
        for (int u = 0; u < units; u++) {
          if (p.isDone(d.index(), u)) {
            runs.add(new StreamLog.Run(d.index(), u * perUnit, Math.min(perUnit, chunks - u * perUnit)));
          }
        }
      }
    }
    presentLog.append(runs);
    TransferProgress.delete(dir);
  }

  private InputStream fetch(int slot, String path, long offset, long length, boolean onDemand) throws IOException {
    if (!onDemand) {
      awaitNoDemand();
    } else {
      demand.incrementAndGet();
      // the guest will most likely read on from here (a boot reads sequentially): the background goes there next
      hints.addFirst(new long[] {slot, (offset + length) >>> StreamingDisk.CHUNK_SHIFT});
      while (hints.size() > MAX_HINTS) {
        hints.pollLast();
      }
    }
    InputStream in;
    try {
      in = connection.get(path + "?offset=" + offset + "&length=" + length);
    } catch (IOException | RuntimeException e) {
      if (onDemand) {
        demandEnded();
      }
      throw e;
    }
    return new FilterInputStream(in) {
      private boolean closed;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n > 0) {
          received.addAndGet(n);
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        try {
          super.close();
        } finally {
          if (onDemand && !closed) {
            closed = true;
            demandEnded();
          }
        }
      }
    };
  }

  private void demandEnded() {
    lastDemandEnd = System.nanoTime();
    if (demand.decrementAndGet() == 0) {
      synchronized (demandDone) {
        demandDone.notifyAll();
      }
    }
  }

  /**
   * Waits while a guest's fetch is under way and, except in the {@link #STEADY} worker, until the
   * guest has fetched nothing for {@link #QUIET_NANOS}.
   */
  private void awaitNoDemand() throws IOException {
    boolean steady = STEADY.orElse(false);
    synchronized (demandDone) {
      while (!closing) {
        long quiet = System.nanoTime() - lastDemandEnd;
        long waitMillis;
        if (demand.get() > 0) {
          waitMillis = 100;
        } else if (!steady && quiet < QUIET_NANOS) {
          waitMillis = Math.max(1, (QUIET_NANOS - quiet) / 1_000_000);
        } else {
          return;
        }
        try {
          demandDone.wait(waitMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("streaming check-out stopped");
        }
      }
    }
  }

  private void download(Path dir, Manifest m, Passphrase key, Datastore store, OfflineCopy.Progress progress) {
    try {
      List<long[]> work = new ArrayList<>(); // disk slot, first chunk
      for (int i = 0; i < disks.size(); i++) {
        StreamingDisk d = disks.get(i);
        for (long c = 0; c < d.chunks(); c += BACKGROUND_CHUNKS) {
          work.add(new long[] {i, c});
        }
      }
      AtomicInteger next = new AtomicInteger();
      AtomicInteger finished = new AtomicInteger();
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      for (int w = 0; w < OfflineCopy.WORKERS; w++) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        workers.add(f);
        boolean steady = w == 0;
        Thread.ofVirtual().name("vstore-stream-" + w).start(() -> ScopedValue.where(STEADY, steady).run(() -> {
          try {
            long sinceCommit = 0;
            for (int k = next.getAndIncrement(); k < work.size() && !closing; k = next.getAndIncrement()) {
              for (long[] h = hints.pollFirst(); h != null && !closing; h = hints.pollFirst()) {
                StreamingDisk d = disks.get((int) h[0]);
                sinceCommit += fetchAbsent(d, h[1], Math.min(d.chunks(), h[1] + HINT_CHUNKS));
              }
              StreamingDisk d = disks.get((int) work.get(k)[0]);
              long first = work.get(k)[1];
              sinceCommit += fetchAbsent(d, first, Math.min(d.chunks(), first + BACKGROUND_CHUNKS));
              if (sinceCommit >= COMMIT_BYTES) {
                d.commit();
                sinceCommit = 0;
              }
              progress.unitDone(finished.incrementAndGet(), work.size(), received.get());
            }
            f.complete(null);
          } catch (Throwable t) {
            next.set(Integer.MAX_VALUE);
            f.completeExceptionally(t);
          }
        }));
      }
      CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).join();
      if (closing) {
        throw new java.io.InterruptedIOException("streaming check-out stopped before the download finished");
      }
      for (StreamingDisk d : disks) {
        d.ensure(0, d.size(), false); // what a guest's fetch had claimed and then failed to bring
        d.commit();
      }
      StreamingDisk.finish(disks, () -> OfflineCopy.markReady(dir, m, key, store));
      // The copy is whole: a late commit may still append to the unlinked log, which nobody reads again.
      Files.deleteIfExists(dir.resolve(StreamLog.PRESENT));
      downloaded.complete(null);
    } catch (Throwable t) {
      downloaded.completeExceptionally(t instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
          ? ce.getCause() : t);
    }
  }

  /**
   * Fetches the absent chunks of {@code [first, end)} of {@code d} in the background; returns the
   * bytes asked for. A fetch that fails is tried again a few times, waiting longer each time: the
   * guest keeps running on what arrived, so a short outage of the link must not end the download.
   */
  private long fetchAbsent(StreamingDisk d, long first, long end) throws IOException {
    long bytes = 0;
    for (long c = d.nextAbsent(first); c < end; c = d.nextAbsent(c)) {
      long stop;
      for (int attempt = 1; ; attempt++) {
        try {
          stop = d.fetchRun(c, end, false);
          break;
        } catch (io.vstore.offline.TransferException | ServerConnection.ServerException refused) {
          throw refused; // bad data or a refusal: trying again will not help
        } catch (IOException e) {
          if (attempt >= RETRIES || closing) {
            throw e;
          }
          System.getLogger("io.vstore.offline").log(System.Logger.Level.WARNING, "fetching " + d + " at chunk " + c
              + " failed (" + e.getMessage() + "); trying again in " + attempt + " s");
          try {
            Thread.sleep(1000L * attempt);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("streaming check-out stopped");
          }
        }
      }
      if (stop == c) {
        c++; // on its way already (a guest's read or read-ahead): the sweep at the end makes sure it arrived
        continue;
      }
      bytes += (stop - c) << StreamingDisk.CHUNK_SHIFT;
      c = stop;
    }
    return bytes;
  }

  /** Returns the NBD address the disks are served on. */
  public InetSocketAddress address() {
    return run.address();
  }

  /** Returns the export names (the disks' volume names, in VM order). */
  public List<String> exports() {
    return run.exports();
  }

  /** Returns the bytes received from the server so far (frames, on demand and in the background). */
  public long bytesReceived() {
    return received.get();
  }

  /**
   * Waits up to {@code timeout} ms for the download to finish; returns false if it has not, and
   * throws what stopped it if it failed (the exports keep serving what arrived).
   */
  public boolean awaitDownload(long timeoutMillis) throws IOException, InterruptedException {
    try {
      downloaded.get(timeoutMillis, TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) {
        throw new IOException("the streaming check-out into " + dir + " stopped: " + io.getMessage(), io);
      }
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      throw new IOException(cause);
    }
  }

  /** Returns whether the download finished (the copy is ready and a check-in may follow). */
  public boolean isDownloaded() {
    return downloaded.isDone() && !downloaded.isCompletedExceptionally();
  }

  /** Stops the download (a later run resumes it) and the exports, keeping what arrived and what the guest wrote. */
  @Override
  public void close() throws IOException {
    closing = true;
    synchronized (demandDone) {
      demandDone.notifyAll();
    }
    try {
      background.join(); // its workers stop after the fetch they are in
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    IOException failure = null;
    try {
      run.close(); // stops the exports, then commits every disk
    } catch (IOException e) {
      failure = e;
    }
    for (AutoCloseable c : List.<AutoCloseable>of(connection, presentLog, dirtyLog)) {
      try {
        c.close();
      } catch (Exception e) {
        IOException io = e instanceof IOException x ? x : new IOException(e);
        if (failure == null) {
          failure = io;
        } else {
          failure.addSuppressed(io);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
