package io.vstore.backup.engine;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as a restore progress record: loading either gives a record (which then saves
 * and loads back equal) or fails with an {@link IOException} naming the file, never an unchecked
 * exception.
 */
class RestoreProgressFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreARecordOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("progress-fuzz");
    Path file = dir.resolve("r.progress");
    try {
      Files.write(file, input);
      RestoreProgress p = RestoreProgress.load(file);
      if (p != null) {
        Path again = dir.resolve("again.progress");
        p.save(again);
        if (!p.equals(RestoreProgress.load(again))) {
          throw new AssertionError("record " + p + " does not load back equal");
        }
      }
    } catch (IOException expected) {
      if (!expected.getMessage().contains(file.toString())) {
        throw new AssertionError("error does not name the file: " + expected.getMessage());
      }
    } finally {
      try (var files = Files.list(dir)) {
        for (Path p : files.toList()) {
          Files.delete(p);
        }
      }
      Files.delete(dir);
    }
  }
}
