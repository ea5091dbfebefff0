package io.vstore.server.jobs;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as a job record, as a crash or a stray edit may leave one: reading it
 * either succeeds or fails with an {@link IOException} naming the file (the daemon then skips the
 * record), never an unchecked exception or an unbounded allocation.
 */
class JobRecordFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreARecordOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("job-fuzz");
    Path file = dir.resolve("0123456789abcdef.json");
    try {
      Files.write(file, input);
      JobStore.read(file, "ds");
    } catch (IOException expected) {
      // a damaged record: skipped with a warning
    } finally {
      Files.deleteIfExists(file);
      Files.delete(dir);
    }
  }
}
