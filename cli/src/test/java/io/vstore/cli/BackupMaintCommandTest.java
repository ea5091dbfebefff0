package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.backup.repo.ChunkId;
import io.vstore.backup.repo.ChunkSink;
import io.vstore.backup.repo.PointInfo;
import io.vstore.backup.repo.PointMeta;
import io.vstore.backup.repo.PointWriter;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.backup.store.ObjectStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** backup prune, protect, gc and sync from the command line, on points written through the repository API. */
class BackupMaintCommandTest {
  @TempDir Path dir;

  /** Writes one point a day for {@code days} days, each of fresh random chunks; returns their ids, oldest first. */
  static List<String> points(Path repoDir, int days) throws java.io.IOException {
    List<String> ids = new ArrayList<>();
    try (ObjectStore store = DirectoryStore.open(repoDir); Repository repo = Repository.open(store, null)) {
      Random rnd = new Random(days);
      int chunk = repo.config().chunkSize();
      for (int d = 0; d < days; d++) {
        PointWriter w = repo.newPoint(4L * chunk, null);
        try (ChunkSink sink = repo.openSink()) {
          for (int i = 0; i < 4; i++) {
            byte[] b = new byte[chunk];
            rnd.nextBytes(b);
            ChunkId id = repo.chunkId(ByteBuffer.wrap(b));
            sink.add(id, ByteBuffer.wrap(b));
            w.set(i, id, chunk);
          }
          PointInfo p = w.commit(new PointMeta("vol1", "volume", null, null,
              Instant.parse("2026-05-01T12:00:00Z").plusSeconds(86_400L * d), List.of(), 4L * chunk), sink);
          ids.add(p.id());
        }
      }
    }
    return ids;
  }

  @Test
  void pruneProtectAndGc() throws Exception {
    Path repoDir = dir.resolve("repo");
    String repo = repoDir.toString();
    assertThat(CliRun.of("backup", "init", repo, "--chunk-size", "16K").exit()).isZero();
    List<String> ids = points(repoDir, 5);

    CliRun protect = CliRun.of("backup", "protect", ids.get(0).substring(0, 6), "--repo", repo);
    assertThat(protect.exit()).as(protect.err()).isZero();
    assertThat(protect.out()).contains("point " + ids.get(0) + " is now protected");

    CliRun dry = CliRun.of("backup", "prune", "--repo", repo, "--keep-last", "2", "--dry-run", "--json");
    assertThat(dry.exit()).as(dry.err()).isZero();
    assertThat(dry.json().get("removed").asInt()).isEqualTo(2);
    assertThat(dry.json().get("dryRun").asBoolean()).isTrue();

    CliRun prune = CliRun.of("backup", "prune", "--repo", repo, "--keep-last", "2");
    assertThat(prune.exit()).as(prune.err()).isZero();
    assertThat(prune.out()).contains("protected " + ids.get(0)).contains("remove    " + ids.get(1))
        .contains("removed 2 point(s), kept 3");

    CliRun first = CliRun.of("backup", "gc", "--repo", repo, "--json");
    assertThat(first.exit()).as(first.err()).isZero();
    assertThat(first.json().get("packsMarked").asInt()).isPositive();
    assertThat(first.json().get("packsDeleted").asInt()).isZero();
    CliRun second = CliRun.of("backup", "gc", "--repo", repo);
    assertThat(second.exit()).as(second.err()).isZero();
    assertThat(second.out()).containsPattern("delete [1-9][0-9]* pack");
    CliRun check = CliRun.of("backup", "check", "--repo", repo);
    assertThat(check.exit()).as(check.out()).isZero();

    CliRun off = CliRun.of("backup", "protect", ids.get(0), "--off", "--repo", repo, "--json");
    assertThat(off.json().get("protected").asBoolean()).isFalse();
    CliRun bad = CliRun.of("backup", "prune", "--repo", repo, "--keep-within", "soon");
    assertThat(bad.exit()).isNotZero();
    assertThat(bad.err().strip()).startsWith("vstore: bad duration: 'soon'").doesNotContain("\n");
  }

  @Test
  void syncToATargetSharingChunkIds() throws Exception {
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    Path c = dir.resolve("c");
    assertThat(CliRun.of("backup", "init", a.toString(), "--chunk-size", "16K").exit()).isZero();
    points(a, 3);
    CliRun initB = CliRun.of("backup", "init", b.toString(), "--copy-ids-from", a.toString());
    assertThat(initB.exit()).as(initB.err()).isZero();
    CliRun sync = CliRun.of("backup", "sync", "--from", a.toString(), "--to", b.toString(), "--json");
    assertThat(sync.exit()).as(sync.err()).isZero();
    JsonNode r = sync.json();
    assertThat(r.get("pointsCopied")).hasSize(3);
    assertThat(r.get("chunksCopied").asInt()).isEqualTo(12);
    CliRun again = CliRun.of("backup", "sync", "--from", a.toString(), "--to", b.toString());
    assertThat(again.out()).contains("copied 0 point(s), 3 were there already; sent 0 chunk(s)");

    assertThat(CliRun.of("backup", "init", c.toString(), "--chunk-size", "16K").exit()).isZero();
    CliRun refused = CliRun.of("backup", "sync", "--from", a.toString(), "--to", c.toString());
    assertThat(refused.exit()).isNotZero();
    assertThat(refused.err()).contains("--copy-ids-from " + a);
  }
}
