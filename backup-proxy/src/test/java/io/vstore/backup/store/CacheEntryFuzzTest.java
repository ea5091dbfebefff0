package io.vstore.backup.store;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Arrays;

/**
 * Feeds arbitrary bytes as a cache entry file: decoding either succeeds, and then the entry
 * encodes back to exactly those bytes, or fails with an {@link IOException}; never an unchecked
 * exception or an allocation the file's length does not justify.
 */
class CacheEntryFuzzTest {

  @FuzzTest(maxDuration = "15s")
  void anyBytesAreAnEntryOrAnIoError(byte[] input) {
    try {
      CacheEntryFile entry = CacheEntryFile.decode(input, "fuzz");
      byte[] again = new byte[input.length];
      entry.encode().get(again);
      if (!Arrays.equals(again, input)) {
        throw new AssertionError("decoded entry does not encode to its bytes");
      }
    } catch (IOException expected) {
      // a damaged copy: the cache drops it
    }
    try {
      CacheEntryFile.readHeader(ByteBuffer.wrap(input), "fuzz");
    } catch (IOException expected) {
      // likewise
    }
    // A valid entry around the input, to give the fuzzer a start.
    if (input.length > 0 && input.length < 4096) {
      byte[] made = new CacheEntryFile(new ObjectInfo("index/x", input.length, Instant.ofEpochSecond(input[0])), input)
          .encode().array();
      try {
        if (!Arrays.equals(CacheEntryFile.decode(made, "made").data(), input)) {
          throw new AssertionError("round trip changed the data");
        }
      } catch (IOException e) {
        throw new AssertionError("a written entry does not read back: " + e.getMessage(), e);
      }
    }
  }
}
