package io.vstore.engine.replica;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as a replica record, as a crash or a stray edit may leave one: reading it
 * either succeeds or fails with an {@link IOException} naming the file, never an unchecked
 * exception or an unbounded allocation.
 */
class ReplicaRecordFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreARecordOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("replica-fuzz");
    Path file = dir.resolve("r-1.json");
    try {
      Files.write(file, input);
      ReplicaStore.read(file);
    } catch (IOException expected) {
      // a damaged record: the daemon's start names the file
    } finally {
      Files.deleteIfExists(file);
      Files.delete(dir);
    }
  }
}
