package io.vstore.backup.repo;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What the backup engine records about a point when it commits it.
 *
 * @param source what was backed up (volume or VM name)
 * @param kind {@code volume} or {@code vm}
 * @param group the VM a volume belongs to, or null
 * @param changeId the change id the snapshot had, or null; the next backup asks for changes since it
 * @param time when the snapshot was taken
 * @param tags user tags
 * @param bytesRead bytes the backup read from the volume
 */
public record PointMeta(String source, String kind, String group, String changeId, Instant time, List<String> tags,
    long bytesRead) {
  public PointMeta {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(time, "time");
    tags = List.copyOf(tags == null ? List.of() : tags);
  }
}
