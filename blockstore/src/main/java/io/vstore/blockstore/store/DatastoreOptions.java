package io.vstore.blockstore.store;

import io.vstore.blockstore.crypto.KeySource;
import java.time.Duration;

/**
 * Tunables of an open datastore (not persisted).
 *
 * @param segmentBytes size at which a segment file is closed and a new one started
 * @param flushThreshold pending map changes after which a writer flushes on its own
 * @param cleanerInterval how often the background cleaner looks for work; zero disables it
 * @param cleanBelowLiveRatio segments whose live fraction is below this are cleaned
 * @param channels how segment files are opened
 * @param metadataCacheBytes the memory budget of the block-map and record-state pages held in memory
 * @param keys what unlocks an encrypted datastore (and makes the first key slot of a new one), or null
 * @param warmMetadata whether pages are loaded into the metadata cache in the background after open
 *     ({@link MetadataWarmer}): for processes that serve I/O, not for a command that exits at once
 */
public record DatastoreOptions(long segmentBytes, int flushThreshold, Duration cleanerInterval,
    double cleanBelowLiveRatio, ChannelOpener channels, long metadataCacheBytes, KeySource keys,
    boolean warmMetadata) {

  /** The default metadata cache budget: 256 MiB. */
  public static final long DEFAULT_METADATA_CACHE = 256L << 20;

  public DatastoreOptions {
    if (segmentBytes < SegmentFiles.HEADER_BYTES + RecordCodec.MAX_RECORD_BYTES) {
      throw new IllegalArgumentException("segment size " + segmentBytes + " cannot hold a record");
    }
    if (flushThreshold <= 0 || cleanBelowLiveRatio < 0 || cleanBelowLiveRatio > 1) {
      throw new IllegalArgumentException("bad datastore options: flush threshold " + flushThreshold
          + ", clean below " + cleanBelowLiveRatio);
    }
    java.util.Objects.requireNonNull(channels, "channels");
    // Any positive budget works: below a page's size every access reads its rows (tests use that).
    if (metadataCacheBytes <= 0) {
      throw new IllegalArgumentException("metadata cache budget " + metadataCacheBytes + " is not positive");
    }
  }

  /**
   * Returns the defaults: 256 MiB segments, flush after 64 Ki changes, clean every 30 s below 50%
   * live, a 256 MiB metadata cache warmed in the background after open.
   */
  public static DatastoreOptions defaults() {
    return new DatastoreOptions(256L << 20, 1 << 16, Duration.ofSeconds(30), 0.5, ChannelOpener.DEFAULT,
        DEFAULT_METADATA_CACHE, null, true);
  }

  /** Returns these options with {@code bytes} segments. */
  public DatastoreOptions withSegmentBytes(long bytes) {
    return new DatastoreOptions(bytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, channels, metadataCacheBytes, keys, warmMetadata);
  }

  /** Returns these options with the background cleaner running every {@code interval} (zero: off). */
  public DatastoreOptions withCleanerInterval(Duration interval) {
    return new DatastoreOptions(segmentBytes, flushThreshold, interval, cleanBelowLiveRatio, channels, metadataCacheBytes, keys, warmMetadata);
  }

  /** Returns these options flushing on their own after {@code changes} pending map changes. */
  public DatastoreOptions withFlushThreshold(int changes) {
    return new DatastoreOptions(segmentBytes, changes, cleanerInterval, cleanBelowLiveRatio, channels, metadataCacheBytes, keys, warmMetadata);
  }

  /** Returns these options opening segment files with {@code opener}. */
  public DatastoreOptions withChannels(ChannelOpener opener) {
    return new DatastoreOptions(segmentBytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, opener, metadataCacheBytes, keys, warmMetadata);
  }

  /** Returns these options keeping at most about {@code bytes} of metadata pages in memory. */
  public DatastoreOptions withMetadataCache(long bytes) {
    return new DatastoreOptions(segmentBytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, channels, bytes, keys, warmMetadata);
  }

  /** Returns these options with background warming of the metadata cache after open on or off. */
  public DatastoreOptions withMetadataWarming(boolean on) {
    return new DatastoreOptions(segmentBytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, channels,
        metadataCacheBytes, keys, on);
  }

  /** Returns these options unlocking an encrypted datastore with {@code source} (null: none). */
  public DatastoreOptions withKeys(KeySource source) {
    return new DatastoreOptions(segmentBytes, flushThreshold, cleanerInterval, cleanBelowLiveRatio, channels,
        metadataCacheBytes, source, warmMetadata);
  }
}
