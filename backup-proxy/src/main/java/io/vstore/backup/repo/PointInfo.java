package io.vstore.backup.repo;

import java.time.Instant;
import java.util.List;

/**
 * A backup point as its manifest describes it.
 *
 * @param id the point id (16 hex digits)
 * @param time when its snapshot was taken
 * @param source what was backed up
 * @param kind {@code volume} or {@code vm}
 * @param group the VM a volume belongs to, or null
 * @param changeId the snapshot's change id, or null
 * @param sizeBytes the volume's size
 * @param bytes data bytes the point holds (holes excluded)
 * @param newBytes stored bytes its backup added to the repository
 * @param base the point it was built on, or null
 * @param tags user tags
 */
public record PointInfo(String id, Instant time, String source, String kind, String group, String changeId,
    long sizeBytes, long bytes, long newBytes, String base, List<String> tags) {
  public PointInfo {
    tags = List.copyOf(tags);
  }
}
