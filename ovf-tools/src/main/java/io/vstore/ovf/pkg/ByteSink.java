package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;

/** One stage of the writer's pipeline: takes bytes in order (compress, split into chunks, store). */
interface ByteSink {
  /** Takes all of {@code src}. */
  void write(ByteBuffer src) throws IOException;

  /** Ends the data: flushes what the stage holds and ends the stages behind it. */
  void finish() throws IOException;
}
