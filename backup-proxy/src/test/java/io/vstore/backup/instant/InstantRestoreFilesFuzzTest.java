package io.vstore.backup.instant;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as an instant restore's zero log and record: opening either succeeds (and
 * the log answers within its bounds) or fails with an {@link IOException} naming the file, never an
 * unchecked exception or an unbounded allocation.
 */
class InstantRestoreFilesFuzzTest {
  private static final long UNITS = 1000;

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreAZeroLogOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("zero-log-fuzz");
    Path file = dir.resolve("v.zeros");
    try {
      Files.write(file, input);
      try (ZeroLog log = ZeroLog.open(file, 65536, UNITS)) {
        for (long u = 0; u < UNITS; u += 7) {
          log.covers(u);
        }
        log.add(UNITS - 1, UNITS);
      }
      try (ZeroLog again = ZeroLog.open(file, 65536, UNITS)) {
        if (!again.covers(UNITS - 1)) {
          throw new AssertionError("a synced zero-log record was lost on reopen");
        }
      }
    } catch (IOException expected) {
      // damaged: the daemon names the file and skips the restore
    } finally {
      Files.deleteIfExists(file);
      Files.delete(dir);
    }
  }

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreARecordOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("restore-record-fuzz");
    Path file = dir.resolve("v.json");
    try {
      Files.write(file, input);
      RestoreRecord r = RestoreRecord.load(file);
      if (r != null && (r.cursor() < 0 || r.cursor() > r.size())) {
        throw new AssertionError("accepted a record with cursor " + r.cursor() + " of " + r.size());
      }
    } catch (IOException expected) {
      // damaged: named
    } finally {
      Files.deleteIfExists(file);
      Files.delete(dir);
    }
  }
}
