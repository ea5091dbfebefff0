package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.server.TestDaemon;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scenario: while a client keeps writing (and flushing) a volume through the daemon's
 * datastore, snapshot, info, clone, cbt and check run through the CLI, and the snapshot holds exactly
 * what was written and flushed before it.
 */
final class LiveSnapshotTest {
  private static final int BLOCK = 4096;
  private static final long SIZE = 1L << 30;

  @TempDir Path tmp;

  private static ByteBuffer pattern(long block) {
    ByteBuffer b = ByteBuffer.allocate(BLOCK);
    while (b.hasRemaining()) {
      b.putLong(block + 1); // never zero: a block that reads as zeros was not written
    }
    return b.flip();
  }

  private static CliRun ok(String... args) {
    CliRun r = CliRun.of(args);
    assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
    assertThat(r.err()).as(String.join(" ", args)).isEmpty();
    return r;
  }

  @Test
  void commandsRunWhileAClientWritesAndTheSnapshotHoldsWhatWasFlushedBeforeIt() throws Exception {
    Path ds = tmp.resolve("ds");
    String d = ds.toString();
    try (TestDaemon daemon = TestDaemon.start(new CliCommandRunner(), ds)) {
      ok("volume", "create", "-D", d, "vm1", String.valueOf(SIZE));
      Datastore store = daemon.daemon().find(ds).orElseThrow().store();
      AtomicLong flushed = new AtomicLong(); // blocks 0 .. flushed-1 are written and flushed
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<Throwable> writerFailure = new AtomicReference<>();
      Thread writer = Thread.ofPlatform().name("test-writer").start(() -> {
        try (Volume v = store.volume("vm1")) {
          for (long i = 0; !stop.get() && (i + 1) * BLOCK <= SIZE; i++) {
            v.write(i * BLOCK, pattern(i));
            v.flush();
            flushed.set(i + 1);
          }
        } catch (Throwable t) {
          writerFailure.set(t);
        }
      });
      try {
        while (flushed.get() < 64 && writer.isAlive()) {
          Thread.sleep(5);
        }
        long before = flushed.get();
        ok("snapshot", "create", "-D", d, "vm1@s");
        long after = flushed.get();

        JsonNode info = ok("volume", "info", "-D", d, "vm1", "--json").json();
        assertThat(info.get("name").asText()).isEqualTo("vm1");
        assertThat(info.get("snapshotCount").asInt())
            .isEqualTo(1);
        assertThat(ok("clone", "create", "-D", d, "vm1@s", "c", "--count", "100").out())
            .isEqualTo("created 100 clones c-1 ... c-100 of vm1@s\n");
        JsonNode changes = ok("cbt", "changes", "-D", d, "vm1", "--since", "*", "--json").json();
        assertThat(changes.get("extents").size()).isPositive();
        assertThat(ok("datastore", "check", "-D", d).out()).contains("no problems found");
        long whileCommandsRan = flushed.get();

        stop.set(true);
        writer.join();
        assertThat(writerFailure.get()).as("the writer's failure").isNull();
        assertThat(whileCommandsRan).as("the writer went on while the commands ran").isGreaterThan(after);

        try (Volume snap = store.volume("vm1@s", true); Volume clone = store.volume("c-57", true)) {
          ByteBuffer got = ByteBuffer.allocate(BLOCK);
          ByteBuffer fromClone = ByteBuffer.allocate(BLOCK);
          for (long i = 0; i <= after + 64; i++) {
            snap.read(i * BLOCK, got.clear());
            clone.read(i * BLOCK, fromClone.clear());
            assertThat(fromClone.flip()).as("clone block %d", i).isEqualTo(got.flip());
            if (i < before) {
              assertThat(got).as("block %d, flushed before the snapshot", i).isEqualTo(pattern(i));
            } else if (i > after) {
              assertThat(got).as("block %d, written after the snapshot", i).isEqualTo(ByteBuffer.allocate(BLOCK));
            } else {
              assertThat(got).as("block %d, written while the snapshot was taken: all or nothing", i)
                  .isIn(pattern(i), ByteBuffer.allocate(BLOCK));
            }
          }
        }
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThat(ok("datastore", "check", "-D", d).out()).contains("no problems found");
    }
  }
}
