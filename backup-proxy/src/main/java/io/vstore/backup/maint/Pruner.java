package io.vstore.backup.maint;

import io.vstore.backup.maint.PrunePolicy.Candidate;
import io.vstore.backup.maint.PrunePolicy.Decision;
import io.vstore.backup.maint.PrunePolicy.Mark;
import io.vstore.backup.repo.NoSuchPointException;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.Repository;
import java.io.IOException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code vstore backup prune}: applies a {@link PrunePolicy} to the points of each source and
 * deletes the manifests of the points it does not keep. Their data stays until gc. Runs beside
 * backups (it takes a prune lock, which excludes nothing); a point that a running backup names as
 * its base is kept, and protection is asked again right before each deletion.
 */
public final class Pruner {

  /** The outcome for one point: kept (and why) or removed. */
  public record PointDecision(PointInfo point, Mark mark, String reason) {
    /** Returns whether the point stays. */
    public boolean keep() {
      return mark != Mark.REMOVE;
    }
  }

  /**
   * What a prune did (or, dry, would do), per point, grouped by source and newest first.
   *
   * @param removed the number of points removed (or that would be)
   */
  public record Result(List<PointDecision> decisions, boolean dryRun, int removed, int kept) {}

  private final Repository repo;
  private final RepositoryLocks locks;
  private final ProtectionMarkers markers;
  private final ZoneId zone;

  /** Returns a pruner of {@code repo}; periods are days, weeks... of {@code zone}. */
  public Pruner(Repository repo, RepositoryLocks locks, ZoneId zone) {
    this.repo = repo;
    this.locks = locks;
    this.markers = new ProtectionMarkers(repo.store());
    this.zone = zone;
  }

  /**
   * Prunes the points of {@code source} (every source when null).
   *
   * @param dryRun decide and report only; takes no lock and deletes nothing
   */
  public Result prune(RetentionOptions options, String source, boolean dryRun) throws IOException {
    RepositoryLock lock = dryRun ? null : locks.acquire(LockKind.PRUNE, null, options.toString());
    try {
      Map<String, List<PointInfo>> bySource = new TreeMap<>();
      for (PointInfo p : repo.points()) {
        if (source == null || source.equals(p.source())) {
          bySource.computeIfAbsent(p.source(), s -> new ArrayList<>()).add(p);
        }
      }
      Set<String> protectedIds = markers.all();
      Map<String, String> bases = liveBases();
      List<PointDecision> out = new ArrayList<>();
      for (List<PointInfo> points : bySource.values()) {
        Map<String, PointInfo> byId = new HashMap<>();
        List<Candidate> candidates = new ArrayList<>();
        for (PointInfo p : points) {
          byId.put(p.id(), p);
          candidates.add(new Candidate(p.id(), p.time(), protectedIds.contains(p.id())));
        }
        for (Decision d : PrunePolicy.decide(candidates, options, zone)) {
          PointDecision pd = new PointDecision(byId.get(d.id()), d.mark(), d.reason());
          if (!d.keep() && bases.containsKey(d.id())) {
            pd = new PointDecision(pd.point(), Mark.KEEP, "base of a running " + bases.get(d.id()));
          }
          out.add(pd);
        }
      }
      if (!dryRun) {
        out = removeMarked(out, lock);
      }
      int removed = (int) out.stream().filter(d -> !d.keep()).count();
      return new Result(List.copyOf(out), dryRun, removed, out.size() - removed);
    } finally {
      if (lock != null) {
        lock.close();
      }
    }
  }

  /** Deletes what is marked, asking again about bases and protection, which may have changed since. */
  private List<PointDecision> removeMarked(List<PointDecision> decisions, RepositoryLock lock) throws IOException {
    Map<String, String> bases = liveBases();
    List<PointDecision> out = new ArrayList<>(decisions.size());
    for (PointDecision d : decisions) {
      if (d.keep()) {
        out.add(d);
        continue;
      }
      String id = d.point().id();
      if (bases.containsKey(id)) {
        out.add(new PointDecision(d.point(), Mark.KEEP, "base of a running " + bases.get(id)));
        continue;
      }
      if (markers.isProtected(id)) {
        out.add(new PointDecision(d.point(), Mark.PROTECTED, "protected"));
        continue;
      }
      lock.ensureHeld();
      try {
        repo.deletePoint(id);
      } catch (NoSuchPointException e) {
        // removed by a prune running beside this one: the outcome is the same
      }
      out.add(d);
    }
    return out;
  }

  /** Returns the base point of each live backup lock and that lock's description. */
  private Map<String, String> liveBases() throws IOException {
    Map<String, String> bases = new HashMap<>();
    for (LockRecord r : locks.live()) {
      if (r.base() != null) {
        bases.put(r.base(), r.describe());
      }
    }
    return bases;
  }
}
