package io.vstore.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.auth.Scope;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Exchange;
import io.vstore.server.jobs.JobInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The REST routes of backups: the points of a repository, one point, a backup job and a restore
 * (a job, or an instant restore that serves the volume at once).
 *
 * <p>Each route is the command line it stands for ({@code backup list|info|create}, {@code restore}),
 * run by the daemon's {@link CommandRunner} as the command forwarding runs it, so a route answers
 * exactly what the command prints with {@code --json} and refuses what the command refuses, with
 * its one-line message. Every route needs scope admin: the repository, passphrase and key files
 * are locations on the daemon's host. Relative paths resolve against {@code /}.
 */
final class BackupRoutes {
  /** Where a backup is to go and what unlocks the repository: the body of {@code POST /api/v1/backups}. */
  record BackupRequest(String repo, String source, String datastore, List<String> tags, String passphraseFile,
      String keyFile, Integer workers) {}

  /** What to restore where: the body of {@code POST /api/v1/backups/{point}/restore}. */
  record RestoreRequest(String repo, String datastore, String toVolume, Boolean instant, String export,
      Boolean forceReplace, String passphraseFile, String keyFile, Integer workers) {}

  private final Daemon daemon;
  private final CommandCalls calls;

  private BackupRoutes(Daemon daemon, CommandRoutes commands) {
    this.daemon = daemon;
    this.calls = new CommandCalls(daemon, commands);
  }

  /** Adds the backup routes to {@code daemon}'s router; jobs start through {@code commands}. */
  static void register(Daemon daemon, CommandRoutes commands) {
    BackupRoutes r = new BackupRoutes(daemon, commands);
    daemon.router().add("GET", "/api/v1/backups", Scope.ADMIN,
        "List the points of a backup repository (?repo=LOCATION).", r::list);
    daemon.router().add("POST", "/api/v1/backups", Scope.ADMIN,
        "Start a backup job of a volume or VM into a repository.", r::create);
    daemon.router().add("GET", "/api/v1/backups/{point}", Scope.ADMIN,
        "Show one point of a backup repository (?repo=LOCATION).", r::info);
    daemon.router().add("POST", "/api/v1/backups/{point}/restore", Scope.ADMIN,
        "Restore a point into a volume: a restore job, or an instant restore served at once over NBD.", r::restore);
  }

  private void list(Exchange ex) throws IOException {
    List<String> argv = new ArrayList<>(List.of("backup", "list", "--json"));
    repoArgs(argv, ex.query("repo"), ex.query("passphraseFile"), ex.query("keyFile"));
    String source = ex.query("source");
    if (source != null) {
      argv.addAll(List.of("--source", source));
    }
    ex.json(200, runJson(argv));
  }

  private void info(Exchange ex) throws IOException {
    List<String> argv = new ArrayList<>(List.of("backup", "info", point(ex), "--json"));
    repoArgs(argv, ex.query("repo"), ex.query("passphraseFile"), ex.query("keyFile"));
    ex.json(200, runJson(argv));
  }

  private void create(Exchange ex) throws IOException {
    BackupRequest b = ex.body(BackupRequest.class);
    if (b.source() == null || b.source().isEmpty()) {
      throw ApiException.badRequest("source (a volume or VM) is required");
    }
    List<String> argv = new ArrayList<>(List.of("-D", datastore(b.datastore()), "backup", "create", b.source(),
        "--json", "--no-progress"));
    repoArgs(argv, b.repo(), b.passphraseFile(), b.keyFile());
    for (String tag : b.tags() == null ? List.<String>of() : b.tags()) {
      argv.addAll(List.of("--tag", tag));
    }
    if (b.workers() != null) {
      argv.addAll(List.of("--workers", b.workers().toString()));
    }
    ex.json(202, startJob(argv));
  }

  private void restore(Exchange ex) throws IOException {
    RestoreRequest r = ex.body(RestoreRequest.class);
    if (r.toVolume() == null || r.toVolume().isEmpty()) {
      throw ApiException.badRequest("toVolume is required");
    }
    boolean instant = Boolean.TRUE.equals(r.instant());
    List<String> argv = new ArrayList<>(List.of("-D", datastore(r.datastore()), "restore", point(ex),
        "--to-volume", r.toVolume()));
    repoArgs(argv, r.repo(), r.passphraseFile(), r.keyFile());
    if (instant) {
      argv.add("--instant");
      argv.add("--json");
      if (r.export() != null) {
        argv.addAll(List.of("--export", r.export()));
      }
    } else {
      argv.add("--no-progress");
    }
    if (Boolean.TRUE.equals(r.forceReplace())) {
      argv.add("--force-replace");
    }
    if (r.workers() != null) {
      argv.addAll(List.of("--workers", r.workers().toString()));
    }
    if (instant) {
      // Runs at once: the volume is served when this answers; the copy is the job named in the answer.
      ex.json(201, runJson(argv));
    } else {
      ex.json(202, startJob(argv));
    }
  }

  private static String point(Exchange ex) {
    String p = ex.path("point");
    if (p == null || p.isEmpty() || !p.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
      throw ApiException.badRequest("point must be a point id or a prefix of one (hex digits), not '" + p + "'");
    }
    return p;
  }

  private static void repoArgs(List<String> argv, String repo, String passphraseFile, String keyFile) {
    if (repo == null || repo.isEmpty()) {
      throw ApiException.badRequest("repo (the repository's location on the daemon's host) is required");
    }
    argv.addAll(List.of("--repo", repo));
    if (passphraseFile != null) {
      argv.addAll(List.of("--passphrase-file", passphraseFile));
    }
    if (keyFile != null) {
      argv.addAll(List.of("--key-file", keyFile));
    }
  }

  private String datastore(String name) {
    return daemon.byName(name).path().toString();
  }

  private JobInfo startJob(List<String> argv) {
    return calls.startJob(argv);
  }

  private JsonNode runJson(List<String> argv) throws IOException {
    return calls.runJson(argv, BackupRoutes::missing);
  }

  /** Returns whether a command's error line names something missing (a 404). */
  private static boolean missing(String line) {
    return line.startsWith("no point") || line.startsWith("no backup repository")
        || line.startsWith("no volume or VM") || line.contains(" no point ");
  }

  @Override
  public String toString() {
    return "backup routes of " + daemon;
  }
}
