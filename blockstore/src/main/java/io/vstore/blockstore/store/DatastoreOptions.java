package io.vstore.blockstore.store;

import java.time.Duration;

/**
 * Tunables of an open datastore (not persisted).
 *
 * @param segmentBytes size at which a segment file is closed and a new one started
 * @param flushThreshold pending map changes after which a writer flushes on its own
 * @param cleanerInterval how often the background cleaner looks for work; zero disables it
 * @param cleanBelowLiveRatio segments whose live fraction is below this are cleaned
 * @param channels how segment files are opened
 */
public record DatastoreOptions(long segmentBytes, int flushThreshold, Duration cleanerInterval,
    double cleanBelowLiveRatio, ChannelOpener channels) {

  public DatastoreOptions {
    if (segmentBytes < SegmentFiles.HEADER_BYTES + RecordCodec.MAX_RECORD_BYTES) {
      throw new IllegalArgumentException("segment size " + segmentBytes + " cannot hold a record");
    }
    if (flushThreshold <= 0 || cleanBelowLiveRatio < 0 || cleanBelowLiveRatio > 1) {
      throw new IllegalArgumentException("bad datastore options: flush threshold " + flushThreshold
          + ", clean below " + cleanBelowLiveRatio);
    }
    java.util.Objects.requireNonNull(channels, "channels");
  }

  /** Returns the defaults: 256 MiB segments, flush after 64 Ki changes, clean every 30 s below 50% live. */
  public static DatastoreOptions defaults() {
    return new DatastoreOptions(256L << 20, 1 << 16, Duration.ofSeconds(30), 0.5, ChannelOpener.DEFAULT);
  }

  /** Returns these options with {@code bytes} segments. */
  public DatastoreOptions withSegmentBytes(long bytes) {
    return new DatastoreOptions(bytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, channels);
  }

  /** Returns these options with the background cleaner running every {@code interval} (zero: off). */
  public DatastoreOptions withCleanerInterval(Duration interval) {
    return new DatastoreOptions(segmentBytes, flushThreshold, interval, cleanBelowLiveRatio, channels);
  }

  /** Returns these options flushing on their own after {@code changes} pending map changes. */
  public DatastoreOptions withFlushThreshold(int changes) {
    return new DatastoreOptions(segmentBytes, changes, cleanerInterval, cleanBelowLiveRatio, channels);
  }

  /** Returns these options opening segment files with {@code opener}. */
  public DatastoreOptions withChannels(ChannelOpener opener) {
    return new DatastoreOptions(segmentBytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, opener);
  }
}
