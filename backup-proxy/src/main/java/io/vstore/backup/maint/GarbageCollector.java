package io.vstore.backup.maint;

import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.CorruptObjectException;
import io.vstore.backup.repo.NoSuchPointException;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryMaintenance;
import io.vstore.backup.repo.RepositoryMaintenance.IndexEntry;
import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectInfo;
import io.vstore.backup.store.ObjectStore;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code vstore backup gc}: deletes packs and pages that no point references, while backups keep
 * running, in two phases like Duplicacy's fossil collection.
 *
 * <ol>
 *   <li><b>Mark</b> (every run): the packs none of whose chunks a point references, and the pages
 *       no point names, become the candidates of a new round. Their index entries are kept in
 *       {@code gc/<round>.index} and the pages copied to {@code gc/<round>.pages/}; then the index
 *       objects are rewritten without those packs and the pages removed from {@code pages/}, so new
 *       backups stop deduplicating against them (they store such a chunk again). The round's record
 *       {@code gc/<round>.round} says when that was done: its {@code hidden} time.</li>
 *   <li><b>Collect</b> (a later run): a round is collected once every backup, sync and restore
 *       whose lock started before its hidden time has ended — those are the only processes that
 *       may still use its candidates. Candidates that a point now references (committed by such a
 *       backup meanwhile, read until now through the repository's look-aside into gc's copies) are
 *       put back into the index; the others are deleted.</li>
 * </ol>
 *
 * <p>A pack whose live chunks take less than {@link #REPACK_BELOW} of its bytes is repacked: its
 * live chunks are copied into new packs (indexed before anything is hidden), then it becomes a
 * candidate like an unreferenced one; when its round is collected, chunks the index holds
 * elsewhere no longer keep it.
 *
 * <p>The eligible rounds are chosen <em>before</em> the referenced set is built, so no backup that
 * may reference a candidate can commit after the set was taken. Lock start times come from the
 * holders' clocks; a margin of {@link #CLOCK_MARGIN} absorbs skew between hosts. Memory: the
 * referenced set is a Bloom filter (2 bytes per chunk), pages are read one at a time, each distinct
 * page once; per-pack counters are one small record per 16 MiB pack.
 *
 * <p>Packs written after the oldest running backup started are left alone this time (they are
 * probably that backup's, not yet named by a point); crash-left packs that no index names are
 * indexed again from their trailers when a point needs them, else collected like the rest. A
 * candidate pack that an index object names again when its round is collected (its backup's sink
 * indexed it after gc hid it) is live again and stays.
 */
public final class GarbageCollector {
  /** Skew allowed between the clocks of the hosts that share a repository. */
  static final Duration CLOCK_MARGIN = Duration.ofMinutes(5);
  /** A pack whose live chunks take less than this share of its bytes is repacked. */
  static final double REPACK_BELOW = 0.4;

  /**
   * What a run did (or, dry, would do).
   *
   * @param packsDeleted packs of collected rounds deleted, and their bytes
   * @param packsRestored candidates that points had come to reference, indexed again
   * @param packsMarked packs that became candidates of the new round, and their bytes
   * @param packsRepacked of those, packs that were mostly garbage: their live chunks were copied first
   * @param packsKept packs with referenced chunks, and their bytes
   * @param roundsWaiting rounds not collected yet because a process that may use them still runs
   * @param notes what people should know (waiting rounds, re-indexed packs)
   */
  public record Result(boolean dryRun, int packsDeleted, long bytesDeleted, int pagesDeleted, int packsRestored,
      int pagesRestored, int packsMarked, long bytesMarked, int pagesMarked, int packsRepacked, int packsKept,
      long bytesKept, int roundsWaiting, List<String> notes) {}

  private final Repository repo;
  private final RepositoryMaintenance maint;
  private final ObjectStore store;
  private final RepositoryLocks locks;
  private final Clock clock;

  /** Returns a collector of {@code repo}, taking and judging locks through {@code locks}. */
  public GarbageCollector(Repository repo, RepositoryLocks locks) {
    this(repo, locks, Clock.systemUTC());
  }

  GarbageCollector(Repository repo, RepositoryLocks locks, Clock clock) {
    this.repo = repo;
    this.maint = new RepositoryMaintenance(repo);
    this.store = repo.store();
    this.locks = locks;
    this.clock = clock;
  }

  /** Runs one gc: collects the rounds whose time has come, then marks a new one. */
  public Result run(boolean dryRun) throws IOException {
    RepositoryLock lock = dryRun ? null : locks.acquireAlone(LockKind.GC, "gc");
    try {
      return new Run(dryRun, lock).execute();
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }

  /** The state of one run. */
  private final class Run {
    final boolean dry;
    final RepositoryLock lock;
    final List<String> notes = new ArrayList<>();
    int packsDeleted;
    long bytesDeleted;
    int pagesDeleted;
    int packsRestored;
    int pagesRestored;
    int packsMarked;
    long bytesMarked;
    int pagesMarked;
    int packsKept;
    long bytesKept;
    int roundsWaiting;
    int packsRepacked;

    Run(boolean dry, RepositoryLock lock) {
      this.dry = dry;
      this.lock = lock;
    }

    Result execute() throws IOException {
      List<LockRecord> live = new ArrayList<>();
      for (LockRecord r : locks.live()) {
        if (r.kind().usesChunks()) {
          live.add(r);
        }
      }
      // 1. The rounds, and which of them may be collected: decided before the referenced set is built.
      Map<String, GcRound> rounds = new TreeMap<>();
      Map<String, List<String>> roundObjects = new TreeMap<>();
      List<ObjectInfo> gcObjects = new ArrayList<>();
      store.list(GcRound.PREFIX, gcObjects::add);
      for (ObjectInfo o : gcObjects) {
        String r = GcRound.roundOf(o.key());
        if (r == null) {
          continue;
        }
        roundObjects.computeIfAbsent(r, k -> new ArrayList<>()).add(o.key());
        if (o.key().equals(GcRound.recordKey(r))) {
          try {
            rounds.put(r, GcRound.read(store, o.key(), store.get(o.key())));
          } catch (NoSuchObjectException e) {
            roundObjects.remove(r);
          }
        }
      }
      List<GcRound> eligible = new ArrayList<>();
      for (GcRound round : rounds.values()) {
        LockRecord blocker = null;
        for (LockRecord l : live) {
          if (l.started().isBefore(round.hidden().plus(CLOCK_MARGIN))) {
            blocker = l;
            break;
          }
        }
        if (blocker == null) {
          eligible.add(round);
        } else {
          roundsWaiting++;
          notes.add("round " + round.id() + " (" + round.packs().size() + " packs, " + round.pages().size()
              + " pages) waits for the " + blocker.describe() + ", which started before it was hidden at "
              + round.hidden());
        }
      }
      // 2. What the points reference.
      Referenced refs = referenced();
      // 3. Collect. A pack that an index object names again was written by a backup that indexed it
      // after gc hid it (its sink had not flushed yet): new backups see it, so it is live again.
      Set<String> indexed = eligible.isEmpty() ? Set.of() : indexedPacks();
      for (GcRound round : eligible) {
        collect(round, refs, indexed);
      }
      // 4. Mark a new round: packs and pages no point references, and adopt rounds a crash left unfinished.
      Set<String> inRounds = new HashSet<>();
      for (GcRound round : rounds.values()) {
        if (dry || !eligible.contains(round)) {
          inRounds.addAll(round.packs()); // a dry run deleted nothing: collected rounds' packs are still there
        }
      }
      List<String> unfinished = new ArrayList<>();
      for (String r : roundObjects.keySet()) {
        if (!rounds.containsKey(r)) {
          unfinished.add(r);
        }
      }
      mark(refs, live, inRounds, unfinished);
      if (!dry) {
        int stale = locks.removeStale();
        if (stale > 0) {
          notes.add("removed " + stale + " stale lock(s) of processes that have ended");
        }
      }
      return new Result(dry, packsDeleted, bytesDeleted, pagesDeleted, packsRestored, pagesRestored, packsMarked,
          bytesMarked, pagesMarked, packsRepacked, packsKept, bytesKept, roundsWaiting, List.copyOf(notes));
    }

    /** Builds the set of chunk and page ids the points reference, reading each distinct page once. */
    Referenced referenced() throws IOException {
      ReferencedSet ids = new ReferencedSet(repo.chunkCount() + 1024);
      Set<ChunkId> pages = new HashSet<>();
      for (PointInfo p : repo.points()) {
        List<ChunkId> pageIds;
        try {
          pageIds = maint.pageIds(p.id());
        } catch (NoSuchObjectException | NoSuchPointException e) {
          continue; // pruned since the listing
        }
        for (ChunkId page : pageIds) {
          if (pages.add(page)) {
            try {
              maint.forEachChunkOfPage(page, ids::add);
            } catch (CorruptObjectException e) {
              throw new IOException("gc stopped before deleting anything it could not account for: point " + p.id()
                  + " cannot be read (" + e.getMessage() + "); run 'vstore backup check'", e);
            }
          }
        }
      }
      return new Referenced(ids, pages);
    }

    /** Returns the ids of the packs some index object names. */
    Set<String> indexedPacks() throws IOException {
      Set<String> packs = new HashSet<>();
      for (String key : maint.indexKeys()) {
        try {
          maint.readIndex(key, e -> packs.add(hex(e.packId())));
        } catch (NoSuchObjectException | CorruptObjectException e) {
          // gone, or damaged: mark() reports it and treats its packs as unindexed
        }
      }
      return packs;
    }

    void collect(GcRound round, Referenced refs, Set<String> indexed) throws IOException {
      Map<String, List<IndexEntry>> byPack = new HashMap<>();
      String indexKey = GcRound.indexKey(round.id());
      try {
        maint.readIndex(indexKey, e -> byPack.computeIfAbsent(hex(e.packId()), k -> new ArrayList<>()).add(e));
      } catch (NoSuchObjectException e) {
        // A run collected it and stopped before deleting the record: what it restored is indexed.
        if (!dry) {
          store.delete(GcRound.recordKey(round.id()));
        }
        return;
      }
      List<IndexEntry> restore = new ArrayList<>();
      List<Integer> delete = new ArrayList<>();
      for (int i = 0; i < round.packs().size(); i++) {
        List<IndexEntry> entries = byPack.getOrDefault(round.packs().get(i), List.of());
        if (indexed.contains(round.packs().get(i))) {
          packsRestored++;
          continue;
        }
        boolean used = false;
        for (IndexEntry e : entries) {
          // Referenced, and not in a pack the index lists (a repacked pack's live chunks are).
          if (refs.ids.mightContain(e.id().toBytes()) && !repo.hasChunk(e.id())) {
            used = true;
            break;
          }
        }
        if (used) {
          restore.addAll(entries);
          packsRestored++;
        } else {
          delete.add(i);
        }
      }
      List<String> restorePages = new ArrayList<>();
      List<String> deletePages = new ArrayList<>();
      for (String page : round.pages()) {
        (refs.pages.contains(ChunkId.fromHex(page)) ? restorePages : deletePages).add(page);
      }
      pagesRestored += restorePages.size();
      for (int i : delete) {
        packsDeleted++;
        bytesDeleted += round.packBytes().get(i);
      }
      pagesDeleted += deletePages.size();
      if (dry) {
        return;
      }
      // Put back first, then delete: a crash in between leaves the round to be collected again.
      if (!restore.isEmpty()) {
        maint.writeIndex(RepositoryMaintenance.newIndexKey(), restore);
      }
      for (String page : restorePages) {
        try {
          maint.copyPage(GcRound.pageKey(round.id(), page), RepositoryMaintenance.pageKey(ChunkId.fromHex(page)));
        } catch (NoSuchObjectException e) {
          // put back by an earlier run that stopped before finishing
        }
      }
      for (int i : delete) {
        lock.ensureHeld();
        store.delete(RepositoryMaintenance.packKey(HexFormat.of().parseHex(round.packs().get(i))));
      }
      for (String page : round.pages()) {
        store.delete(GcRound.pageKey(round.id(), page));
      }
      store.delete(indexKey);
      store.delete(GcRound.recordKey(round.id()));
      maint.forgetHidden();
    }

    void mark(Referenced refs, List<LockRecord> live, Set<String> inRounds, List<String> unfinished)
        throws IOException {
      // Objects written since the oldest running backup began are probably its own, not yet named by
      // its point: they wait for a later run. This only spares work; safety does not rest on the
      // clocks it compares (a candidate that turns out used is put back when its round is collected).
      Instant cutoff = Instant.MAX;
      for (LockRecord l : live) {
        Instant c = l.started().minus(CLOCK_MARGIN);
        if (c.isBefore(cutoff)) {
          cutoff = c;
        }
      }
      // Per pack: its entries' liveness, and which index objects name it.
      Map<String, PackStat> stats = new HashMap<>();
      Map<String, Set<String>> packsOfIndex = new HashMap<>();
      for (String key : maint.indexKeys()) {
        Set<String> packs = new HashSet<>();
        try {
          maint.readIndex(key, e -> {
            String p = hex(e.packId());
            packs.add(p);
            PackStat s = stats.computeIfAbsent(p, k -> new PackStat());
            s.storedBytes += e.storedLength();
            if (refs.ids.mightContain(e.id().toBytes())) {
              s.live++;
              s.liveBytes += e.storedLength();
            }
          });
        } catch (NoSuchObjectException e) {
          continue; // deleted since the listing (only a gc deletes index objects, and gc locks exclude another)
        } catch (CorruptObjectException e) {
          // Its packs look unindexed below and are indexed again from their own trailers if used.
          notes.add("index object " + key + " is damaged and was left alone: " + e.getMessage());
          continue;
        }
        packsOfIndex.put(key, packs);
      }
      // Rounds a crash left without a record: their candidates are hidden again and recorded.
      Set<String> candidatePacks = new HashSet<>();
      Map<String, Long> packBytes = new HashMap<>();
      List<IndexEntry> candidateEntries = new ArrayList<>();
      List<String> candidatePages = new ArrayList<>();
      Map<String, String> adoptedPageCopies = new HashMap<>();
      Set<String> repack = new HashSet<>();
      for (String r : unfinished) {
        try {
          maint.readIndex(GcRound.indexKey(r), e -> {
            candidatePacks.add(hex(e.packId()));
            candidateEntries.add(e);
          });
        } catch (NoSuchObjectException e) {
          // the crash came before its index object: nothing of it was hidden
        }
        notes.add("finishing gc round " + r + " that an interrupted gc left");
      }
      List<ObjectInfo> packs = new ArrayList<>();
      store.list("data/", packs::add);
      for (ObjectInfo o : packs) {
        byte[] packId = RepositoryMaintenance.packIdOf(o.key());
        if (packId == null) {
          continue;
        }
        String p = hex(packId);
        packBytes.put(p, o.size());
        if (inRounds.contains(p) || candidatePacks.contains(p)) {
          continue;
        }
        PackStat s = stats.get(p);
        if (s != null && s.live > 0 && (s.liveBytes >= s.storedBytes * REPACK_BELOW || o.modified().isAfter(cutoff))) {
          packsKept++;
          bytesKept += o.size();
          continue;
        }
        if (s != null && s.live > 0) {
          repack.add(p); // mostly garbage: its live chunks go to new packs, then it is a candidate like the rest
          candidatePacks.add(p);
          continue;
        }
        if (o.modified().isAfter(cutoff)) {
          packsKept++; // perhaps a running backup's, not yet named by its point
          bytesKept += o.size();
          continue;
        }
        if (s == null) {
          // No index names it: a pack a crash left before its index object. Index it again if used.
          List<IndexEntry> entries;
          try {
            entries = maint.readTrailer(packId);
          } catch (CorruptObjectException e) {
            notes.add("pack " + o.key() + " is in no index and its trailer is damaged; left alone: " + e.getMessage());
            continue;
          } catch (NoSuchObjectException e) {
            continue;
          }
          boolean used = entries.stream().anyMatch(e -> refs.ids.mightContain(e.id().toBytes()));
          if (used) {
            if (!dry) {
              maint.writeIndex(RepositoryMaintenance.newIndexKey(), entries);
            }
            notes.add("indexed pack " + o.key() + " again from its trailer: a point uses it but no index named it");
            packsKept++;
            bytesKept += o.size();
            continue;
          }
          candidateEntries.addAll(entries);
        }
        candidatePacks.add(p);
      }
      List<ObjectInfo> pageObjects = new ArrayList<>();
      store.list("pages/", pageObjects::add);
      for (ObjectInfo o : pageObjects) {
        ChunkId page = RepositoryMaintenance.pageIdOf(o.key());
        if (page != null && !refs.pages.contains(page) && !o.modified().isAfter(cutoff)) {
          candidatePages.add(page.hex());
        }
      }
      for (String r : unfinished) {
        List<String> copies = new ArrayList<>();
        store.list(GcRound.PREFIX + r + ".pages/", o -> copies.add(o.key()));
        for (String k : copies) {
          String page = k.substring(k.lastIndexOf('/') + 1);
          adoptedPageCopies.put(page, k);
        }
      }
      if (candidatePacks.isEmpty() && candidatePages.isEmpty() && adoptedPageCopies.isEmpty()) {
        return;
      }
      for (String p : candidatePacks) {
        packsMarked++;
        bytesMarked += packBytes.getOrDefault(p, 0L);
      }
      packsRepacked = repack.size();
      pagesMarked += candidatePages.size() + adoptedPageCopies.size();
      if (dry) {
        return;
      }
      String round = RepositoryLocks.randomId();
      // a. The candidates' index entries, from the index objects that name them.
      Set<String> affected = new HashSet<>();
      for (Map.Entry<String, Set<String>> e : packsOfIndex.entrySet()) {
        for (String p : e.getValue()) {
          if (candidatePacks.contains(p)) {
            affected.add(e.getKey());
            break;
          }
        }
      }
      Map<String, List<IndexEntry>> kept = new HashMap<>();
      Set<String> seen = new HashSet<>();
      for (IndexEntry e : candidateEntries) {
        seen.add(hex(e.packId()) + e.id().hex());
      }
      for (String key : affected) {
        List<IndexEntry> keep = new ArrayList<>();
        maint.readIndex(key, e -> {
          if (candidatePacks.contains(hex(e.packId()))) {
            if (seen.add(hex(e.packId()) + e.id().hex())) {
              candidateEntries.add(e);
            }
          } else {
            keep.add(e);
          }
        });
        kept.put(key, keep);
      }
      // Repack: the live chunks of mostly-garbage packs into new packs, indexed before the old
      // packs are hidden, so every referenced chunk stays in the index throughout.
      if (!repack.isEmpty()) {
        Set<ChunkId> copied = new HashSet<>();
        try (ChunkSink sink = maint.openRepackSink()) {
          for (IndexEntry e : candidateEntries) {
            if (repack.contains(hex(e.packId())) && refs.ids.mightContain(e.id().toBytes()) && copied.add(e.id())) {
              lock.ensureHeld();
              sink.add(e.id(), maint.readChunkAt(e));
            }
          }
          sink.flush();
        }
      }
      maint.writeIndex(GcRound.indexKey(round), candidateEntries);
      // b. The pages, copied aside.
      for (String page : candidatePages) {
        lock.ensureHeld();
        try {
          maint.copyPage(RepositoryMaintenance.pageKey(ChunkId.fromHex(page)), GcRound.pageKey(round, page));
        } catch (NoSuchObjectException e) {
          // deleted meanwhile: nothing to hide
        }
      }
      for (Map.Entry<String, String> e : adoptedPageCopies.entrySet()) {
        maint.copyPage(e.getValue(), GcRound.pageKey(round, e.getKey()));
      }
      // c. Hide: index objects without the candidates (new object first, then the old one goes),
      // then the pages out of pages/.
      for (Map.Entry<String, List<IndexEntry>> e : kept.entrySet()) {
        lock.ensureHeld();
        if (!e.getValue().isEmpty()) {
          maint.writeIndex(RepositoryMaintenance.newIndexKey(), e.getValue());
        }
        store.delete(e.getKey());
      }
      for (String page : candidatePages) {
        store.delete(RepositoryMaintenance.pageKey(ChunkId.fromHex(page)));
      }
      for (String page : adoptedPageCopies.keySet()) {
        store.delete(RepositoryMaintenance.pageKey(ChunkId.fromHex(page)));
      }
      // d. The record, with the time by which all of it was hidden.
      List<String> packList = new ArrayList<>(candidatePacks);
      List<Long> sizes = new ArrayList<>();
      for (String p : packList) {
        sizes.add(packBytes.getOrDefault(p, 0L));
      }
      List<String> pageList = new ArrayList<>(candidatePages);
      pageList.addAll(adoptedPageCopies.keySet());
      GcRound record = new GcRound(round, clock.instant(), packList, sizes, pageList);
      store.putIfAbsent(GcRound.recordKey(round), record.toBytes());
      // The unfinished rounds are now part of this one.
      for (String r : unfinished) {
        List<String> keys = new ArrayList<>();
        store.list(GcRound.PREFIX + r + ".pages/", o -> keys.add(o.key()));
        for (String k : keys) {
          store.delete(k);
        }
        store.delete(GcRound.indexKey(r));
      }
      maint.forgetHidden();
    }
  }

  /** The ids points reference: chunks (approximately, never missing one) and pages (exactly). */
  private record Referenced(ReferencedSet ids, Set<ChunkId> pages) {}

  /** Counters of one pack. */
  private static final class PackStat {
    int live;
    long storedBytes;
    long liveBytes;
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
