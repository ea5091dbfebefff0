package io.vstore.server.auth;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Feeds arbitrary bytes as {@code tokens.json}: opening it either succeeds (and every token read
 * back authenticates nothing it should not) or fails with an {@link IOException} naming the file,
 * never an unchecked exception or an unbounded allocation.
 */
class TokenFileFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreTokensOrAnIoError(byte[] input) throws Exception {
    Path dir = Files.createTempDirectory("token-fuzz");
    Path file = dir.resolve(TokenStore.FILE);
    try {
      Files.write(file, input);
      TokenStore store = TokenStore.open(dir);
      if (store.authenticate("vst_00000000_" + "A".repeat(43)).isPresent()) {
        throw new AssertionError("a made-up secret authenticated");
      }
    } catch (IOException expected) {
      // a damaged file: named in the daemon's one-line error
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
