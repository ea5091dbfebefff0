package io.vstore.blockstore.store;

import io.vstore.blockstore.Extent;
import java.util.List;

/**
 * The answer to a changed-block-tracking query.
 *
 * @param changeId the change id of the queried state: pass it as {@code since} next time
 * @param extents the changed byte ranges, sorted and merged (kind DATA)
 */
public record ChangedAreas(String changeId, List<Extent> extents) {}
