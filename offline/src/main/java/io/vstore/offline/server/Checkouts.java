package io.vstore.offline.server;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.SnapshotInfo;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.VirtualMachine;
import io.vstore.offline.FrameWriter;
import io.vstore.offline.Policy;
import io.vstore.offline.PolicyDocument;
import io.vstore.offline.SignedPolicy;
import io.vstore.server.Daemon;
import io.vstore.server.ManagedDatastore;
import io.vstore.server.auth.Principal;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The daemon's check-outs over all its datastores: creating one (checkpoint VM snapshot, record,
 * signed policy), streaming the checkpoint's allocated data, receiving a check-in (staged, then
 * applied all or nothing), rolling back. {@link #install} adds the routes and finishes check-ins a
 * crash interrupted.
 */
public final class Checkouts {
  /** Transfer slots when none are configured. */
  public static final int DEFAULT_SLOTS = 16;
  /** The bytes of disk one data frame carries. */
  static final int CHUNK = 1 << 20;
  private static final System.Logger LOG = System.getLogger("io.vstore.offline");
  private static final SecureRandom RANDOM = new SecureRandom();

  /** One datastore's check-out state. */
  record Site(ManagedDatastore ds, CheckoutRecords records, ServerKey key, Policies policies) {}

  // Filled by install before any route is added, read only afterwards.
  private final Map<String, Site> sites = new java.util.LinkedHashMap<>();
  private final Map<String, Object> locks = new ConcurrentHashMap<>();
  private final TransferSlots slots;
  private final ServerCopyLocks copyLocks;

  private Checkouts(TransferSlots slots) {
    this.slots = slots;
    this.copyLocks = new ServerCopyLocks();
  }

  /**
   * Opens the check-outs of every datastore of {@code daemon}, finishes check-ins a crash left
   * committed (and drops those it left uncommitted), locks the server copies still out, and adds the
   * routes.
   */
  public static Checkouts install(Daemon daemon, int transferSlots) throws IOException {
    Checkouts c = new Checkouts(new TransferSlots(transferSlots));
    for (ManagedDatastore ds : daemon.all()) {
      CheckoutRecords records = CheckoutRecords.open(ds.path());
      Site site = new Site(ds, records, ServerKey.loadOrCreate(records.dir()), new Policies(records.dir()));
      c.sites.put(ds.name(), site);
      for (CheckoutRecord r : records.list()) {
        try {
          c.recover(site, r);
        } catch (IOException | RuntimeException e) {
          // One damaged check-out (its VM deleted, a bad staging log) must not keep the daemon down:
          // it stays as it is, named in the log, and its check-in or roll-back reports the problem.
          LOG.log(System.Logger.Level.WARNING, "cannot recover check-out " + r.id() + " of VM " + r.vm() + " in "
              + ds + ": " + e.getMessage());
        }
      }
    }
    CheckoutRoutes.register(daemon.router(), c);
    return c;
  }

  /** Returns the transfer slots. */
  TransferSlots slots() {
    return slots;
  }

  private void recover(Site site, CheckoutRecord r) throws IOException {
    CheckinLog.Marker m = CheckinLog.readMarker(site.records().dir(), r.id());
    if (m != null) {
      LOG.log(System.Logger.Level.INFO, "finishing the check-in of " + r.id() + " a stop interrupted");
      finishCheckin(site, r, m);
    } else {
      CheckinLog.finish(site.records().dir(), r.id()); // staged, never committed: nothing was applied
    }
    CheckoutRecord now = site.records().get(r.id()).orElseThrow();
    if (now.state() == CheckoutState.OUT) {
      copyLocks.lock(site.ds().store(), now);
    }
  }

  /** Returns the site of datastore {@code name} (null: the first). */
  Site site(String name) {
    if (name == null) {
      return sites.values().iterator().next();
    }
    Site s = sites.get(name);
    if (s == null) {
      throw ApiException.notFound("no datastore " + name + " in this daemon");
    }
    return s;
  }

  /** Returns the record with {@code id} and its site, or a 404. */
  Map.Entry<Site, CheckoutRecord> find(String id) {
    for (Site s : sites.values()) {
      var r = s.records().get(id);
      if (r.isPresent()) {
        return Map.entry(s, r.get());
      }
    }
    throw ApiException.notFound("no check-out " + id);
  }

  /** Returns every check-out of every datastore. */
  List<CheckoutRecord> list() {
    List<CheckoutRecord> all = new ArrayList<>();
    for (Site s : sites.values()) {
      all.addAll(s.records().list());
    }
    return all;
  }

  /** What a client receives when it checks a VM out. */
  record Started(CheckoutRecord checkout, Object config, SignedPolicy policy) {}

  /** Checks VM {@code vm} out to {@code who}: checkpoint snapshot, record, lock, signed policy. */
  Started checkout(Site site, String vm, Principal who) throws IOException {
    synchronized (site) {
      VirtualMachine m = site.ds().inventory().vms().get(vm);
      var out = site.records().outFor(vm);
      if (out.isPresent()) {
        throw new ApiException(409, "VM " + vm + " is already checked out by " + out.get().user() + " since "
            + out.get().since() + " (check-out " + out.get().id() + ")");
      }
      Policy policy = site.policies().effective(vm, null);
      if (!policy.mayCheckOut()) {
        throw new ApiException(403, "the check-out policy of VM " + vm + " does not allow checking it out");
      }
      String id = "co-" + HexFormat.of().formatHex(randomBytes());
      String checkpoint = "checkout-" + id.substring(3);
      site.ds().inventory().vms().snapshot(vm, checkpoint, "checkpoint of check-out " + id + " by " + who.name());
      Datastore store = site.ds().store();
      List<CheckoutRecord.Disk> disks = new ArrayList<>();
      for (int i = 0; i < m.disks().size(); i++) {
        if (policy.includesDisk(i)) {
          String v = m.disks().get(i);
          disks.add(new CheckoutRecord.Disk(i, v, store.volumeInfo(v).size(), snapshotChangeId(store, v, checkpoint)));
        }
      }
      String now = Instant.now().toString();
      CheckoutRecord r = new CheckoutRecord(id, vm, who.name(), checkpoint, disks, now, now, 0, 0, 0,
          CheckoutState.OUT);
      site.records().save(r);
      copyLocks.lock(store, r);
      return new Started(r, m.config(), sign(site, r, policy));
    }
  }

  /** Returns a freshly signed policy for {@code r} (at each contact: a new last trusted time). */
  SignedPolicy contact(Site site, CheckoutRecord r, Principal who) throws IOException {
    synchronized (lock(r.id())) {
      CheckoutRecord cur = requireOut(site, r.id(), who);
      CheckoutRecord updated = cur.with(cur.disks(), Instant.now().toString(), cur.bytesOut(), cur.bytesBack(),
          cur.checkins(), cur.state());
      site.records().save(updated);
      return sign(site, updated, site.policies().effective(cur.vm(), null));
    }
  }

  private SignedPolicy sign(Site site, CheckoutRecord r, Policy policy) throws IOException {
    PolicyDocument doc = new PolicyDocument(PolicyDocument.VERSION, r.id(), r.vm(), r.user(), Instant.now().toString(),
        policy);
    return SignedPolicy.sign(doc, site.key().privateKey(), site.key().publicKey());
  }

  /** Returns disk {@code disk} of check-out {@code id} after checking that {@code who} may read that range. */
  CheckoutRecord.Disk checkRange(Site site, String id, int disk, long offset, long length, Principal who) {
    CheckoutRecord r = requireOut(site, id, who);
    CheckoutRecord.Disk d = r.disks().stream().filter(x -> x.index() == disk).findFirst()
        .orElseThrow(() -> ApiException.notFound("check-out " + id + " has no disk " + disk));
    if (offset < 0 || length < 0 || offset > d.size() || length > d.size() - offset) {
      throw ApiException.badRequest("range at " + offset + " of " + length + " bytes is outside disk " + disk + " ("
          + d.size() + " bytes)");
    }
    return d;
  }

  /**
   * Streams the checkpoint's data of disk {@code disk} in {@code [offset, offset + length)} as frames:
   * allocated ranges only (holes and zeros read as zeros on the client's new volume anyway).
   */
  void streamData(Site site, String id, int disk, long offset, long length, Principal who, OutputStream out)
      throws Exception {
    CheckoutRecord.Disk d = checkRange(site, id, disk, offset, length, who);
    CheckoutRecord r = site.records().get(id).orElseThrow();
    long sent;
    try (AutoCloseable slot = slots.acquire();
        Volume v = site.ds().store().volume(d.volume() + "@" + r.checkpoint(), true)) {
      FrameWriter w = new FrameWriter(out);
      ByteBuffer buf = ByteBuffer.allocate(CHUNK);
      for (Extent e : v.allocation(offset, length)) {
        if (e.kind() != Extent.Kind.DATA) {
          continue;
        }
        // Frames end on CHUNK boundaries, so a client fetching chunks on demand (--stream) gets whole chunks.
        for (long pos = e.offset(); pos < e.end(); ) {
          int n = (int) Math.min(CHUNK - Math.floorMod(pos, (long) CHUNK), e.end() - pos);
          buf.clear().limit(n);
          v.read(pos, buf);
          buf.flip();
          w.data(disk, pos, buf);
          pos += n;
        }
      }
      w.end();
      sent = w.bytesWritten();
    }
    synchronized (lock(id)) {
      CheckoutRecord cur = site.records().get(id).orElseThrow();
      site.records().save(cur.with(cur.disks(), Instant.now().toString(), cur.bytesOut() + sent, cur.bytesBack(),
          cur.checkins(), cur.state()));
    }
  }

  /** The answer to a check-in. */
  record CheckinResult(String id, long bytesReceived, long changedBytes, String snapshot, CheckoutState state,
      SignedPolicy policy) {}

  /**
   * Receives a check-in from {@code in}, stages it, commits it and applies it: all or nothing. Refused
   * when the server copy changed since the check-out (or the last check-in) unless {@code force}.
   */
  CheckinResult checkin(Site site, String id, InputStream in, boolean keep, boolean force, Principal who)
      throws Exception {
    synchronized (lock(id)) {
      CheckoutRecord r = requireOut(site, id, who);
      Policy policy = site.policies().effective(r.vm(), null);
      if (!policy.mayCheckIn()) {
        throw new ApiException(403, "the check-out policy of VM " + r.vm() + " does not allow checking in");
      }
      if (!force) {
        for (CheckoutRecord.Disk d : r.disks()) {
          List<Extent> changed = site.ds().store().changedAreas(d.volume(), d.baseChangeId(), 0, d.size()).extents();
          if (!changed.isEmpty()) {
            throw new ApiException(409, "the server copy of VM " + r.vm() + " changed since check-out " + id
                + " (disk " + d.volume() + ", " + changed.size() + " ranges from " + changed.getFirst().offset()
                + "); check in with --force to overwrite those ranges, or roll back");
          }
        }
      }
      CheckinLog.Staged staged;
      try (AutoCloseable slot = slots.acquire()) {
        staged = CheckinLog.receive(site.records().dir(), id, in, r.disks());
      }
      CheckinLog.Marker m = new CheckinLog.Marker(r.checkins() + 1, keep, staged.changedBytes(),
          r.bytesBack() + staged.bytesReceived());
      CheckinLog.commit(site.records().dir(), id, m);
      CheckoutRecord done = finishCheckin(site, r, m);
      return new CheckinResult(id, staged.bytesReceived(), staged.changedBytes(), checkinSnapshot(r, m.checkin()),
          done.state(), keep ? sign(site, done, policy) : null);
    }
  }

  private static String checkinSnapshot(CheckoutRecord r, int n) {
    return "checkin-" + r.id().substring(3) + "-" + n;
  }

  /** Applies a committed check-in (again, after a crash), snapshots the VM and saves the record. */
  private CheckoutRecord finishCheckin(Site site, CheckoutRecord r, CheckinLog.Marker m) throws IOException {
    Datastore store = site.ds().store();
    copyLocks.whileApplying(r.id(), () -> CheckinLog.apply(site.records().dir(), r.id(), r.disks(),
        name -> store.volume(name)));
    String snap = checkinSnapshot(r, m.checkin());
    VirtualMachine vm = site.ds().inventory().vms().get(r.vm());
    if (vm.snapshot(snap) == null) {
      site.ds().inventory().vms().snapshot(r.vm(), snap, "check-in " + m.checkin() + " of " + r.id());
    }
    List<CheckoutRecord.Disk> disks = new ArrayList<>();
    for (CheckoutRecord.Disk d : r.disks()) {
      disks.add(new CheckoutRecord.Disk(d.index(), d.volume(), d.size(), snapshotChangeId(store, d.volume(), snap)));
    }
    CheckoutState state = m.keep() ? CheckoutState.OUT : CheckoutState.CHECKED_IN;
    CheckoutRecord done = r.with(disks, Instant.now().toString(), r.bytesOut(), m.bytesBack(), m.checkin(), state);
    site.records().save(done);
    if (!m.keep()) {
      release(site, done);
    }
    CheckinLog.finish(site.records().dir(), r.id());
    return done;
  }

  /** Rolls check-out {@code id} back: the offline changes are discarded (never applied), the lock released. */
  CheckoutRecord rollback(Site site, String id, Principal who) throws IOException {
    synchronized (lock(id)) {
      CheckoutRecord r = requireOut(site, id, who);
      if (!site.policies().effective(r.vm(), null).mayRollBack() && who.scope() != Scope.ADMIN) {
        throw new ApiException(403, "the check-out policy of VM " + r.vm() + " does not allow rolling back");
      }
      CheckoutRecord done = r.with(r.disks(), r.lastContact(), r.bytesOut(), r.bytesBack(), r.checkins(),
          CheckoutState.ROLLED_BACK);
      site.records().save(done);
      release(site, done);
      return done;
    }
  }

  private void release(Site site, CheckoutRecord r) throws IOException {
    copyLocks.unlock(site.ds().store(), r);
    VirtualMachine vm = site.ds().inventory().vms().get(r.vm());
    if (vm.snapshot(r.checkpoint()) != null) {
      site.ds().inventory().vms().deleteSnapshot(r.vm(), r.checkpoint());
    }
  }

  /** Stores {@code policy} for {@code target} ({@code global}, a VM or a pool). */
  void storePolicy(Site site, String target, Policy policy) throws IOException {
    site.policies().store(target, policy);
  }

  private CheckoutRecord requireOut(Site site, String id, Principal who) {
    CheckoutRecord r = site.records().get(id).orElseThrow(() -> ApiException.notFound("no check-out " + id));
    if (!r.user().equals(who.name()) && who.scope() != Scope.ADMIN) {
      throw new ApiException(403, "check-out " + id + " belongs to " + r.user() + ", not " + who.name());
    }
    if (r.state() != CheckoutState.OUT) {
      throw new ApiException(409, "check-out " + id + " is " + r.state().name().toLowerCase(java.util.Locale.ROOT)
          .replace('_', ' '));
    }
    return r;
  }

  private Object lock(String id) {
    return locks.computeIfAbsent(id, k -> new Object());
  }

  private static String snapshotChangeId(Datastore store, String volume, String snap) throws IOException {
    for (SnapshotInfo s : store.snapshots(volume)) {
      if (s.name().equals(snap)) {
        return s.changeId();
      }
    }
    throw new IllegalStateException("snapshot " + volume + "@" + snap + " vanished");
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[4];
    RANDOM.nextBytes(b);
    return b;
  }
}
