package io.vstore.backup.maint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class RepositoryLocksTest {
  @TempDir Path dir;
  private DirectoryStore store;
  private final MutableClock clock = new MutableClock(Instant.now());
  private final ProcessIdentity me = ProcessIdentity.current();

  @BeforeEach
  void open() throws IOException {
    store = DirectoryStore.open(dir);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private RepositoryLocks locks(ProcessIdentity who) {
    return new RepositoryLocks(store, who, clock, Duration.ofMinutes(3));
  }

  @Test
  void aLockIsListedWhileHeldAndGoneWhenReleased() throws IOException {
    RepositoryLocks locks = locks(me);
    try (RepositoryLock l = locks.acquire(LockKind.BACKUP, "00112233aabbccdd", "vm1/disk0")) {
      List<LockStatus> all = locks.list();
      assertThat(all).hasSize(1);
      LockRecord r = all.getFirst().lock();
      assertThat(all.getFirst().stale()).isFalse();
      assertThat(r.kind()).isEqualTo(LockKind.BACKUP);
      assertThat(r.base()).isEqualTo("00112233aabbccdd");
      assertThat(r.detail()).isEqualTo("vm1/disk0");
      assertThat(r.holder()).isEqualTo(me);
      assertThat(r.session()).isEqualTo(l.session());
    }
    assertThat(locks.list()).isEmpty();
    assertThat(keys()).isEmpty();
  }

  @Test
  void aRefreshReplacesTheObjectAndKeepsTheStartTime() throws IOException {
    RepositoryLocks locks = locks(me);
    try (RepositoryLock l = locks.acquire(LockKind.PRUNE, null, "")) {
      Instant started = l.started();
      clock.advance(Duration.ofMinutes(3));
      l.refresh();
      assertThat(keys()).containsExactly(LockRecord.keyOf(l.session(), 1));
      LockRecord r = locks.list().getFirst().lock();
      assertThat(r.started()).isEqualTo(started);
      assertThat(r.refreshed()).isEqualTo(clock.instant());
      assertThat(r.seq()).isEqualTo(1);
    }
  }

  @Test
  void aBackupNamesItsBaseOnceItKnowsIt() throws IOException {
    RepositoryLocks locks = locks(me);
    try (RepositoryLock l = locks.acquire(LockKind.BACKUP, null, "vol1")) {
      l.nameBase("0123456789abcdef");
      assertThat(locks.live()).singleElement().satisfies(r -> {
        assertThat(r.base()).isEqualTo("0123456789abcdef");
        assertThat(r.started()).isEqualTo(l.started());
      });
      l.refresh();
      assertThat(locks.live().getFirst().base()).isEqualTo("0123456789abcdef");
    }
  }

  @Test
  void aCrashBetweenTheTwoStepsOfARefreshLeavesOneLock() throws IOException {
    RepositoryLocks locks = locks(me);
    RepositoryLock l = locks.acquire(LockKind.BACKUP, null, "");
    LockRecord next = l.current().refreshedAt(clock.instant().plusSeconds(60));
    store.putIfAbsent(next.key(), next.toBytes());
    assertThat(keys()).hasSize(2);
    assertThat(locks.list()).singleElement().satisfies(s -> assertThat(s.lock().seq()).isEqualTo(1));
    l.close();
    store.delete(next.key());
  }

  @Test
  void aLockOfADeadProcessOfThisHostIsStaleAtOnce() throws Exception {
    Process p = new ProcessBuilder("sleep", "60").start();
    ProcessIdentity child = new ProcessIdentity(me.hostId(), me.host(), p.pid(),
        p.toHandle().info().startInstant().orElseThrow().toEpochMilli());
    locks(child).acquire(LockKind.GC, null, ""); // its holder will never release it
    RepositoryLocks mine = locks(me);
    assertThat(mine.list()).singleElement().satisfies(s -> assertThat(s.stale()).isFalse());
    p.destroyForcibly();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(mine.list()).singleElement().satisfies(s -> {
      assertThat(s.stale()).isTrue();
      assertThat(s.why()).contains("process " + p.pid() + " of this host has ended");
    });
    assertThat(mine.live()).isEmpty();
    assertThat(mine.removeStale()).isEqualTo(1);
    assertThat(keys()).isEmpty();
  }

  @Test
  void aPidNowHeldByAnotherProcessIsStale() throws IOException {
    ProcessIdentity earlier = new ProcessIdentity(me.hostId(), me.host(), me.pid(), me.processStart() - 10_000);
    locks(earlier).acquire(LockKind.BACKUP, null, "");
    assertThat(locks(me).list()).singleElement().satisfies(s -> assertThat(s.stale()).isTrue());
  }

  @Test
  void aLockOfAnotherHostIsStaleOnlyAfterTwiceItsInterval() throws IOException {
    ProcessIdentity remote = new ProcessIdentity("other-machine-id", "otherhost", 4242, 1);
    RepositoryLock held = locks(remote).acquire(LockKind.BACKUP, null, "");
    RepositoryLocks mine = locks(me);
    clock.advance(Duration.ofMinutes(5));
    assertThat(mine.live()).hasSize(1);
    held.refresh(); // at +5 min
    clock.advance(Duration.ofMinutes(6));
    assertThat(mine.live()).hasSize(1);
    clock.advance(Duration.ofSeconds(1));
    assertThat(mine.list()).singleElement().satisfies(s -> {
      assertThat(s.stale()).isTrue();
      assertThat(s.why()).contains("not refreshed for 361 s (interval 180 s)");
    });
  }

  @Test
  void aSecondGcFailsNamingTheFirstAndSucceedsOnceItIsGone() throws IOException {
    RepositoryLocks locks = locks(me);
    RepositoryLock first = locks.acquireAlone(LockKind.GC, "gc");
    ProcessIdentity other = new ProcessIdentity(me.hostId(), me.host(), me.pid(), me.processStart());
    assertThatThrownBy(() -> locks(other).acquireAlone(LockKind.GC, "gc"))
        .isInstanceOf(LockConflictException.class)
        .hasMessageContaining("another gc lock of " + me.host() + " pid " + me.pid());
    assertThat(locks.list()).hasSize(1); // the loser released its own
    try (RepositoryLock backup = locks.acquire(LockKind.BACKUP, null, "")) {
      first.close();
      locks.acquireAlone(LockKind.GC, "gc").close(); // a backup does not stop a gc
    }
  }

  @Test
  void anUnreadableLockCountsAsABackupUntilTwiceTheDefaultInterval() throws IOException {
    store.putIfAbsent("locks/garbage", ByteBuffer.wrap("not a lock".getBytes()));
    RepositoryLocks locks = locks(me);
    assertThat(locks.list()).singleElement().satisfies(s -> {
      assertThat(s.stale()).isFalse();
      assertThat(s.lock().kind()).isEqualTo(LockKind.BACKUP);
      assertThat(s.lock().detail()).contains("unreadable").contains("locks/garbage").contains("shorter than a header");
    });
    clock.advance(RepositoryLocks.DEFAULT_INTERVAL.multipliedBy(2).plusSeconds(5));
    assertThat(locks.live()).isEmpty();
  }

  @Test
  void aLockCopiedToAnotherKeyOrDamagedIsReportedNotBelieved() throws IOException {
    RepositoryLocks locks = locks(me);
    try (RepositoryLock l = locks.acquire(LockKind.BACKUP, null, "")) {
      byte[] bytes = store.get(l.current().key());
      assertThatThrownBy(() -> LockRecord.read(store, "locks/elsewhere", bytes))
          .isInstanceOf(CorruptMaintenanceObjectException.class).hasMessageContaining("moved or copied");
      bytes[20] ^= 1;
      assertThatThrownBy(() -> LockRecord.read(store, l.current().key(), bytes))
          .isInstanceOf(CorruptMaintenanceObjectException.class).hasMessageContaining("checksum");
    }
  }

  @Test
  void aLockNotRefreshedForTooLongIsNoLongerHeld() throws IOException {
    try (RepositoryLock l = locks(me).acquire(LockKind.BACKUP, null, "")) {
      clock.advance(Duration.ofMinutes(4));
      l.ensureHeld();
      clock.advance(Duration.ofMinutes(1));
      assertThatThrownBy(l::ensureHeld).hasMessageContaining("could not be refreshed for 300 s");
      l.refresh();
      l.ensureHeld();
    }
  }

  @Test
  void theHolderRefreshesItsLockInTheBackground() throws Exception {
    RepositoryLocks locks = new RepositoryLocks(store, me, java.time.Clock.systemUTC(), Duration.ofSeconds(1));
    try (RepositoryLock l = locks.acquire(LockKind.BACKUP, null, "")) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (l.current().seq() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertThat(l.current().seq()).isGreaterThanOrEqualTo(2);
      assertThat(locks.list()).hasSize(1);
    }
    assertThat(keys()).isEmpty();
  }

  private List<String> keys() throws IOException {
    List<String> keys = new ArrayList<>();
    store.list("locks/", (ObjectInfo i) -> keys.add(i.key()));
    return keys;
  }
}
