package io.vstore.offline;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/** Feeds arbitrary bytes as a transfer stream: frames or an {@link IOException}, never an unchecked exception. */
class FrameReaderFuzzTest {
  @FuzzTest(maxDuration = "15s")
  void anyBytesAreFramesOrAnIoError(byte[] input) {
    FrameReader r = new FrameReader(new ByteArrayInputStream(input), "fuzz");
    try {
      for (Frame f = r.next(); f != null; f = r.next()) {
        if (f.type() == Frame.Type.DATA && f.data().length != f.length()) {
          throw new AssertionError("a data frame's bytes differ from its length");
        }
      }
    } catch (IOException expected) {
      // a bad stream: one clear line
    }
  }
}
