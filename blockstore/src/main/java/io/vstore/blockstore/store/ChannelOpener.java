package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * Opens the channels of segment files. The default is {@link FileChannel#open}; crash tests pass
 * an opener whose channels lose unsynced writes.
 */
@FunctionalInterface
public interface ChannelOpener {
  /** The platform's file channels. */
  ChannelOpener DEFAULT = FileChannel::open;

  /** Opens {@code path} with {@code options}. */
  FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
}
