package io.vstore.offline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.Frame;
import io.vstore.offline.FrameReader;
import io.vstore.offline.FrameWriter;
import io.vstore.offline.PolicyDocument;
import io.vstore.offline.SignedPolicy;
import io.vstore.offline.TransferException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An offline copy in a directory: check-out (a resumable download into a new datastore), the checks
 * before it runs (passphrase, manifest MAC, signed policy, clock), check-in (the blocks changed
 * since the last base, read from a client snapshot), contact and roll-back.
 */
public final class OfflineCopy {
  /** The download's unit: what one request fetches and the progress log records. */
  static final long UNIT = 32L << 20;
  /** Downloads in flight at once: both cores decompress and write while the server reads. */
  static final int WORKERS = 4;
  static final String CA_FILE = "server-ca.pem";
  /** How far the clock may go back before it counts as set back (NTP steps, suspend). */
  static final Duration CLOCK_SLACK = Duration.ofMinutes(5);
  private static final int CHUNK = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Serializes the read-modify-write of a manifest within this process: a running copy saves its
   * clock every minute while a check-in through it saves the new base; neither may lose the other's.
   */
  private static final Object MANIFEST = new Object();

  private OfflineCopy() {}

  /** Hears of each downloaded unit (progress bars; tests interrupt a transfer from here). */
  @FunctionalInterface
  public interface Progress {
    /** Says that {@code done} of {@code total} units have arrived, {@code bytes} received so far. */
    void unitDone(int done, int total, long bytes) throws IOException;

    /** Hears nothing. */
    Progress NONE = (done, total, bytes) -> { };
  }

  /** What a check-out did: the check-out id, the disks and the bytes received. */
  public record CheckoutReport(String checkoutId, String vm, int disks, long bytesReceived, long dataBytes,
      boolean resumed) {}

  /**
   * Checks VM {@code vm} out of {@code server} into {@code dir}, or resumes the download into a
   * {@code dir} an interrupted check-out left.
   */
  public static CheckoutReport checkout(String vm, String server, String token, Path caCert, Path dir,
      char[] passphrase, Progress progress) throws IOException {
    if (Files.exists(dir.resolve(StreamLog.PRESENT))) {
      throw new IllegalArgumentException("the check-out into " + dir + " was started with --stream; resume it with"
          + " --stream");
    }
    Begun b = begin(vm, server, token, caCert, dir, passphrase);
    Manifest m = b.manifest();
    long[] counters;
    try (Datastore store = ClientStore.createOrOpen(dir, b.key())) {
      counters = download(dir, m, token, store, progress);
      m = markReady(dir, m, b.key(), store);
    }
    TransferProgress.delete(dir);
    return new CheckoutReport(m.checkoutId(), vm, m.disks().size(), counters[0], counters[1], b.resumed());
  }

  /** A check-out begun or found half done: its manifest, the key that seals it, and whether it was resumed. */
  record Begun(Manifest manifest, Passphrase key, boolean resumed) {}

  /**
   * Starts the check-out of {@code vm} on the server and writes the manifest into {@code dir}, or
   * reads the manifest an interrupted check-out left there.
   */
  static Begun begin(String vm, String server, String token, Path caCert, Path dir, char[] passphrase)
      throws IOException {
    boolean resumed = Files.exists(dir.resolve(Manifest.FILE));
    Manifest m;
    Passphrase key;
    if (resumed) {
      m = Manifest.read(dir);
      key = m.unlock(dir, passphrase);
      if (!m.vm().equals(vm)) {
        throw new IllegalArgumentException(dir + " holds a check-out of VM " + m.vm() + ", not " + vm);
      }
      if (m.state() != Manifest.State.DOWNLOADING) {
        throw new IllegalArgumentException(dir + " already holds a complete check-out of " + vm
            + "; run it with 'vstore offline run'");
      }
    } else {
      if (Files.exists(dir) && Files.list(dir).findAny().isPresent()) {
        throw new IllegalArgumentException("--to " + dir + " exists and is not empty");
      }
      String pem = ServerConnection.readPem(caCert);
      byte[] salt = Passphrase.newSalt();
      // Argon2id is slow by design: it runs on a core of its own while the client connects and the
      // server takes the checkpoint snapshot, instead of after them (--stream's first read waits for both).
      java.util.concurrent.CompletableFuture<Passphrase> stretched = java.util.concurrent.CompletableFuture
          .supplyAsync(() -> Passphrase.derive(passphrase, salt), r -> Thread.ofPlatform().daemon()
              .name("vstore-argon2id").start(r));
      JsonNode started;
      try (ServerConnection c = new ServerConnection(server, token, pem)) {
        started = c.call("POST", "/api/v1/checkouts", java.util.Map.of("vm", vm));
      }
      SignedPolicy policy = JSON.treeToValue(started.get("policy"), SignedPolicy.class);
      policy.verify(policy.publicKey()); // the key arrived over the authenticated channel; from now on it is pinned
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
      if (pem != null) {
        Files.writeString(dir.resolve(CA_FILE), pem);
      }
      key = stretched.join();
      List<Manifest.Disk> disks = new ArrayList<>();
      for (JsonNode d : started.path("checkout").path("disks")) {
        disks.add(new Manifest.Disk(d.path("index").asInt(), d.path("volume").asText(), d.path("size").asLong(), null,
            null));
      }
      Base64.Encoder b64 = Base64.getEncoder();
      m = new Manifest(Manifest.VERSION, server, started.path("checkout").path("id").asText(), vm,
          started.get("config"), disks, policy, policy.publicKey(), b64.encodeToString(salt),
          b64.encodeToString(key.verifier()), Instant.now().toString(), Manifest.State.DOWNLOADING, 0, null);
      m.save(dir, key);
    }
    return new Begun(m, key, resumed);
  }

  /** Takes the base snapshot {@code base-0} of every disk at one instant and marks the copy ready. */
  static Manifest markReady(Path dir, Manifest m, Passphrase key, Datastore store) throws IOException {
    String snap = "base-0";
    java.util.Map<String, String> group = new java.util.LinkedHashMap<>();
    for (Manifest.Disk d : m.disks()) {
      if (store.snapshots(d.volume()).stream().noneMatch(s -> s.name().equals(snap))) {
        group.put(d.volume(), snap);
      }
    }
    if (!group.isEmpty()) {
      store.createSnapshots(group);
    }
    List<Manifest.Disk> disks = new ArrayList<>();
    for (Manifest.Disk d : m.disks()) {
      disks.add(new Manifest.Disk(d.index(), d.volume(), d.size(), snap, changeId(store, d.volume(), snap)));
    }
    synchronized (MANIFEST) {
      // read again: a running copy's clock may have saved it since
      Manifest ready = Manifest.read(dir).withDisks(disks).withState(Manifest.State.READY);
      ready.save(dir, key);
      return ready;
    }
  }

  /** Fetches every unit the progress log does not list, {@link #WORKERS} at a time; returns bytes received and data bytes. */
  private static long[] download(Path dir, Manifest m, String token, Datastore store, Progress listener)
      throws IOException {
    try (TransferProgress progress = TransferProgress.open(dir);
        ServerConnection c = new ServerConnection(m.server(), token, caPem(dir))) {
      List<Volume> volumes = new ArrayList<>();
      List<long[]> work = new ArrayList<>();
      try {
        for (int i = 0; i < m.disks().size(); i++) {
          Manifest.Disk d = m.disks().get(i);
          if (!store.hasVolume(d.volume())) {
            store.createVolume(d.volume(), d.size()).close();
          }
          volumes.add(store.volume(d.volume()));
          long units = (d.size() + UNIT - 1) / UNIT;
          for (int u = 0; u < units; u++) {
            if (!progress.isDone(d.index(), u)) {
              work.add(new long[] {i, u});
            }
          }
        }
        AtomicInteger next = new AtomicInteger();
        int total = work.size();
        AtomicLong received = new AtomicLong();
        AtomicLong data = new AtomicLong();
        UnitCommits commits = new UnitCommits(progress, volumes, listener, total, received);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
          List<Future<?>> workers = new ArrayList<>();
          for (int w = 0; w < WORKERS; w++) {
            workers.add(pool.submit(() -> {
              for (int k = next.getAndIncrement(); k < work.size(); k = next.getAndIncrement()) {
                int slot = (int) work.get(k)[0];
                int unit = (int) work.get(k)[1];
                Manifest.Disk d = m.disks().get(slot);
                long off = unit * UNIT;
                long len = Math.min(UNIT, d.size() - off);
                Volume v = volumes.get(slot);
                try (InputStream in = new BufferedInputStream(c.get("/api/v1/checkouts/" + m.checkoutId() + "/disks/"
                    + d.index() + "/data?offset=" + off + "&length=" + len), 1 << 20)) {
                  FrameReader r = FrameReader.reusing(in, m.server()); // each frame is written before the next
                  for (Frame f = r.next(); f != null && f.type() != Frame.Type.END; f = r.next()) {
                    if (f.disk() != d.index() || f.offset() < off || f.offset() + f.length() > off + len) {
                      throw new TransferException("bad transfer stream from " + m.server() + ": frame for disk "
                          + f.disk() + " at " + f.offset() + " outside the range asked for");
                    }
                    if (f.type() == Frame.Type.DATA) {
                      v.write(f.offset(), ByteBuffer.wrap(f.data()));
                      data.addAndGet(f.length());
                    }
                  }
                  received.addAndGet(r.bytesRead());
                }
                commits.written(slot, d.index(), unit);
              }
              return null;
            }));
          }
          for (Future<?> f : workers) {
            f.get();
          }
          commits.commitWaiting();
        } catch (java.util.concurrent.ExecutionException e) {
          next.set(Integer.MAX_VALUE);
          Throwable cause = e.getCause();
          if (cause instanceof IOException io) {
            throw io;
          }
          if (cause instanceof RuntimeException re) {
            throw re;
          }
          throw new IOException(cause);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("check-out interrupted");
        }
        return new long[] {received.get(), data.get()};
      } finally {
        for (Volume v : volumes) {
          v.close();
        }
      }
    }
  }

  /**
   * Lists downloaded units in the progress log once a flush made them durable, without holding up
   * the download: the worker that finds no flush running flushes for every unit written so far
   * while the others go on receiving (a group commit), so the disk syncs in parallel with the
   * network instead of every worker waiting for its own unit's sync.
   */
  private static final class UnitCommits {
    private final TransferProgress progress;
    private final List<Volume> volumes;
    private final Progress listener;
    private final int total;
    private final AtomicLong received;
    /** Guarded by this: units written and not yet durable ({slot, disk index, unit}). */
    private final List<int[]> waiting = new ArrayList<>();
    private final java.util.concurrent.locks.ReentrantLock flushing = new java.util.concurrent.locks.ReentrantLock();
    private int done;

    UnitCommits(TransferProgress progress, List<Volume> volumes, Progress listener, int total, AtomicLong received) {
      this.progress = progress;
      this.volumes = volumes;
      this.listener = listener;
      this.total = total;
      this.received = received;
    }

    /** Notes that a unit was written; commits the waiting ones unless another worker is flushing. */
    void written(int slot, int disk, int unit) throws IOException {
      synchronized (this) {
        waiting.add(new int[] {slot, disk, unit});
      }
      // Whoever flushes re-checks the list after letting go, so a unit added meanwhile is not stranded.
      while (hasWaiting() && flushing.tryLock()) {
        try {
          commitWaiting();
        } finally {
          flushing.unlock();
        }
      }
    }

    private synchronized boolean hasWaiting() {
      return !waiting.isEmpty();
    }

    /** Flushes the volumes of the waiting units, then lists them as arrived (in that order: a crash lists nothing undurable). */
    void commitWaiting() throws IOException {
      flushing.lock();
      try {
        List<int[]> units;
        synchronized (this) {
          units = new ArrayList<>(waiting);
          waiting.clear();
        }
        java.util.BitSet flushed = new java.util.BitSet();
        for (int[] u : units) {
          if (!flushed.get(u[0])) {
            volumes.get(u[0]).flush();
            flushed.set(u[0]);
          }
        }
        for (int[] u : units) {
          progress.markDone(u[1], u[2]);
          listener.unitDone(++done, total, received.get());
        }
      } finally {
        flushing.unlock();
      }
    }
  }

  /** What a check-in did. */
  public record CheckinReport(String checkoutId, long bytesSent, long changedBytes, String serverSnapshot,
      String state) {}

  /**
   * Checks the copy in: snapshots each disk, sends the blocks changed since the base snapshot, and
   * on the server's success makes that snapshot the new base ({@code keep}) or marks the copy checked in.
   */
  public static CheckinReport checkin(Path dir, char[] passphrase, String token, boolean keep, boolean force)
      throws IOException {
    Passphrase key = Manifest.read(dir).unlock(dir, passphrase); // a wrong passphrase is refused here, whoever does the rest
    java.util.Optional<CheckinReport> viaRun = OfflineRun.requestCheckin(dir, token, keep, force);
    if (viaRun.isPresent()) {
      return viaRun.get(); // the copy is running: its process checks in while the desktop keeps working
    }
    try (Datastore store = ClientStore.open(dir, key)) {
      return checkin(dir, passphrase, store, token, keep, force);
    }
  }

  /** Checks in the copy whose datastore {@code store} is open (by this command or by a running copy). */
  static CheckinReport checkin(Path dir, char[] passphrase, Datastore store, String token, boolean keep,
      boolean force) throws IOException {
    synchronized (MANIFEST) {
      return checkinLocked(dir, passphrase, store, token, keep, force);
    }
  }

  private static CheckinReport checkinLocked(Path dir, char[] passphrase, Datastore store, String token,
      boolean keep, boolean force) throws IOException {
    Manifest m = Manifest.read(dir);
    Passphrase key = m.unlock(dir, passphrase);
    requireReady(dir, m);
    String snap = "checkin-" + (m.checkins() + 1);
    JsonNode answer;
    long[] sent = new long[2];
    {
      for (Manifest.Disk d : m.disks()) {
        if (store.snapshots(d.volume()).stream().anyMatch(s -> s.name().equals(snap))) {
          store.deleteSnapshot(d.volume(), snap); // left by a check-in that failed: take it again, now
        }
      }
      java.util.Map<String, String> group = new java.util.LinkedHashMap<>();
      for (Manifest.Disk d : m.disks()) {
        group.put(d.volume(), snap);
      }
      store.createSnapshots(group); // the desktop's state at one instant, for every disk
      boolean success = false;
      try {
        try (ServerConnection c = new ServerConnection(m.server(), token, caPem(dir))) {
          List<StreamLog.Run> streamed = StreamLog.readAll(dir.resolve(StreamLog.DIRTY));
          answer = c.upload("/api/v1/checkouts/" + m.checkoutId() + "/checkin?keep=" + keep + "&force=" + force,
              out -> sent[1] = writeChanges(store, m, snap, streamed, out, sent));
        }
        List<Manifest.Disk> disks = new ArrayList<>();
        for (Manifest.Disk d : m.disks()) {
          disks.add(new Manifest.Disk(d.index(), d.volume(), d.size(), snap, changeId(store, d.volume(), snap)));
          store.deleteSnapshot(d.volume(), d.baseSnapshot());
        }
        SignedPolicy policy = m.policy();
        if (keep && answer.hasNonNull("policy")) {
          policy = JSON.treeToValue(answer.get("policy"), SignedPolicy.class);
          policy.verify(m.publicKey());
        }
        m.withCheckin(disks, policy, m.checkins() + 1, keep ? Manifest.State.READY : Manifest.State.CHECKED_IN)
            .withLastSeen(later(m.lastSeen(), Instant.now())).save(dir, key);
        // The writes made while streaming are now on the server; a crash before this line only sends them again.
        Files.deleteIfExists(dir.resolve(StreamLog.DIRTY));
        success = true;
      } finally {
        if (!success) {
          for (Manifest.Disk d : m.disks()) {
            store.deleteSnapshot(d.volume(), snap);
          }
        }
      }
    }
    return new CheckinReport(m.checkoutId(), sent[0], sent[1], answer.path("snapshot").asText(),
        answer.path("state").asText());
  }

  /** Writes the frames of the ranges changed since each disk's base; returns changed bytes, sets sent[0]. */
  private static long writeChanges(Datastore store, Manifest m, String snap, List<StreamLog.Run> streamed,
      OutputStream raw, long[] sent) throws IOException {
    OutputStream out = new BufferedOutputStream(raw, 1 << 20);
    FrameWriter w = new FrameWriter(out);
    long changed = 0;
    ByteBuffer buf = ByteBuffer.allocate(CHUNK);
    for (Manifest.Disk d : m.disks()) {
      String spec = d.volume() + "@" + snap;
      try (Volume v = store.volume(spec, true)) {
        for (Extent c : changed(store.changedAreas(spec, d.baseChangeId(), 0, d.size()).extents(), streamed, d)) {
          changed += c.length();
          for (Extent e : v.allocation(c.offset(), c.length())) {
            for (long pos = e.offset(); pos < e.end(); pos += CHUNK) {
              int n = (int) Math.min(CHUNK, e.end() - pos);
              if (e.kind() == Extent.Kind.DATA) {
                buf.clear().limit(n);
                v.read(pos, buf);
                buf.flip();
                w.data(d.index(), pos, buf);
              } else {
                w.zero(d.index(), pos, n);
              }
            }
          }
        }
      }
    }
    w.end();
    out.flush();
    sent[0] = w.bytesWritten();
    return changed;
  }

  /**
   * Returns the ranges to send for disk {@code d}: those changed since its base snapshot and those
   * the guest wrote while the copy was streaming (before the base snapshot existed), merged.
   */
  private static List<Extent> changed(List<Extent> sinceBase, List<StreamLog.Run> streamed, Manifest.Disk d) {
    List<long[]> ranges = new ArrayList<>();
    for (Extent e : sinceBase) {
      ranges.add(new long[] {e.offset(), e.end()});
    }
    for (StreamLog.Run r : streamed) {
      if (r.disk() == d.index()) {
        long from = Math.min(d.size(), r.first() << StreamingDisk.DIRTY_SHIFT);
        long to = Math.min(d.size(), (r.first() + r.count()) << StreamingDisk.DIRTY_SHIFT);
        if (to > from) {
          ranges.add(new long[] {from, to});
        }
      }
    }
    if (ranges.size() == sinceBase.size()) {
      return sinceBase;
    }
    ranges.sort(java.util.Comparator.comparingLong(r -> r[0]));
    List<Extent> out = new ArrayList<>();
    long start = ranges.getFirst()[0];
    long end = ranges.getFirst()[1];
    for (long[] r : ranges) {
      if (r[0] > end) {
        out.add(new Extent(start, end - start, Extent.Kind.DATA));
        start = r[0];
      }
      end = Math.max(end, r[1]);
    }
    out.add(new Extent(start, end - start, Extent.Kind.DATA));
    return out;
  }

  /** Reports contact to the server and keeps the policy it signs anew (a new last trusted time). */
  public static PolicyDocument contact(Path dir, char[] passphrase, String token) throws IOException {
    Manifest m = Manifest.read(dir);
    Passphrase key = m.unlock(dir, passphrase);
    requireReady(dir, m);
    JsonNode answer;
    try (ServerConnection c = new ServerConnection(m.server(), token, caPem(dir))) {
      answer = c.call("POST", "/api/v1/checkouts/" + m.checkoutId() + "/contact", null);
    }
    SignedPolicy p = JSON.treeToValue(answer.get("policy"), SignedPolicy.class);
    PolicyDocument doc = p.verify(m.publicKey());
    m.withPolicy(p).withLastSeen(later(m.lastSeen(), Instant.now())).save(dir, key);
    return doc;
  }

  /** Rolls the check-out back on the server; the copy is void afterwards. */
  public static void rollback(Path dir, char[] passphrase, String token) throws IOException {
    Manifest m = Manifest.read(dir);
    Passphrase key = m.unlock(dir, passphrase);
    try (ServerConnection c = new ServerConnection(m.server(), token, caPem(dir))) {
      c.call("POST", "/api/v1/checkouts/" + m.checkoutId() + "/rollback", null);
    }
    m.withState(Manifest.State.ROLLED_BACK).save(dir, key);
  }

  /** What an opened copy holds: its datastore, its disks' volume names (in VM order) and its policy. */
  public record Opened(Datastore store, List<String> volumes, PolicyDocument policy, String vm, JsonNode config)
      implements AutoCloseable {
    @Override
    public void close() throws IOException {
      store.close();
    }
  }

  /**
   * Opens the copy to run it, after checking the passphrase, the manifest's MAC, the policy's
   * signature, its expiry and days without contact, and that the clock was not set back before
   * the last trusted time or the copy's last run. Records {@code now} as the clock's high-water mark.
   */
  public static Opened open(Path dir, char[] passphrase, Instant now) throws IOException {
    Manifest m = Manifest.read(dir);
    Passphrase key = m.unlock(dir, passphrase);
    requireReady(dir, m);
    PolicyDocument doc = m.policy().verify(m.publicKey());
    checkPolicy(doc, m, now);
    m.withLastSeen(later(m.lastSeen(), now)).save(dir, key);
    Datastore store = ClientStore.open(dir, key);
    return new Opened(store, m.disks().stream().map(Manifest.Disk::volume).toList(), doc, m.vm(), m.config());
  }

  /** Records {@code now} as seen by the copy in {@code dir} (a running copy does so periodically). */
  public static void touch(Path dir, char[] passphrase, Instant now) throws IOException {
    synchronized (MANIFEST) {
      Manifest m = Manifest.read(dir);
      Passphrase key = m.unlock(dir, passphrase);
      m.withLastSeen(later(m.lastSeen(), now)).save(dir, key);
    }
  }

  static void checkPolicy(PolicyDocument doc, Manifest m, Instant now) throws TransferException {
    Instant trusted = doc.issuedAt();
    if (m.lastSeen() != null && Instant.parse(m.lastSeen()).isAfter(trusted)) {
      trusted = Instant.parse(m.lastSeen());
    }
    if (now.plus(CLOCK_SLACK).isBefore(trusted)) {
      throw new TransferException("refusing to run: the clock (" + now + ") is before the last trusted time "
          + trusted + " — it was set back; correct it or contact the server");
    }
    if (doc.policy().expires() != null && now.isAfter(Instant.parse(doc.policy().expires()))) {
      throw new TransferException("refusing to run: the check-out of VM " + doc.vm() + " expired on "
          + doc.policy().expires());
    }
    int days = doc.policy().maxDaysOffline();
    if (days > 0 && now.isAfter(doc.issuedAt().plus(Duration.ofDays(days)))) {
      throw new TransferException("refusing to run: no contact with the server since " + doc.issued()
          + " and the policy allows " + days + " days; run 'vstore checkout renew' or check in");
    }
  }

  private static void requireReady(Path dir, Manifest m) {
    switch (m.state()) {
      case READY -> { }
      case DOWNLOADING -> throw new IllegalArgumentException("the check-out into " + dir
          + " has not finished; run the same 'vstore checkout' again to resume it");
      case CHECKED_IN -> throw new IllegalArgumentException("the copy in " + dir + " was checked in");
      case ROLLED_BACK -> throw new IllegalArgumentException("the copy in " + dir + " was rolled back");
    }
  }

  private static String later(String seen, Instant now) {
    return seen != null && Instant.parse(seen).isAfter(now) ? seen : now.toString();
  }

  static String caPem(Path dir) throws IOException {
    Path f = dir.resolve(CA_FILE);
    return Files.exists(f) ? Files.readString(f) : null;
  }

  private static String changeId(Datastore store, String volume, String snap) throws IOException {
    for (SnapshotInfo s : store.snapshots(volume)) {
      if (s.name().equals(snap)) {
        return s.changeId();
      }
    }
    throw new IllegalStateException("snapshot " + volume + "@" + snap + " vanished");
  }
}
