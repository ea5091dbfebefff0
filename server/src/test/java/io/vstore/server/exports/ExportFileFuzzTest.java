package io.vstore.server.exports;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as {@code exports.json}: loading it either succeeds or fails with an
 * {@link IOException} naming the file (the daemon then refuses to start and says which file),
 * never an unchecked exception or an unbounded allocation.
 */
class ExportFileFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreExportsOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("export-fuzz");
    Path file = dir.resolve(ExportStore.FILE);
    try {
      Files.write(file, input);
      ExportStore.load(dir);
    } catch (IOException expected) {
      // a damaged file: named in the daemon's one-line error
    } finally {
      Files.deleteIfExists(file);
      Files.delete(dir);
    }
  }
}
