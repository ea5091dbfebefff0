package io.vstore.offline.client;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Feeds arbitrary bytes as a streaming check-out log: runs or an {@link IOException}, never an unchecked exception. */
class StreamLogFuzzTest {
  @FuzzTest(maxDuration = "15s")
  void anyBytesAreRunsOrAnIoError(byte[] input) throws IOException {
    Path dir = Files.createTempDirectory("stream-log-fuzz");
    Path file = dir.resolve(StreamLog.PRESENT);
    try {
      Files.write(file, input);
      try (StreamLog log = StreamLog.open(file)) {
        for (StreamLog.Run r : log.runs()) {
          if (r.first() < 0 || r.count() <= 0) {
            throw new AssertionError("a run that no append could write: " + r);
          }
        }
        if (Files.size(file) != 24L * log.runs().size()) {
          throw new AssertionError("the torn tail was not cut off");
        }
      } catch (IOException expected) {
        // a file that is not a stream log: one clear line
      }
    } finally {
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }
}
