package io.vstore.blockstore.store;

import java.nio.file.Path;

/**
 * The parts of an open datastore that its volumes, snapshot operations, cleaner and checker work
 * with, so that they depend on these rather than reach into {@link Datastore}.
 *
 * @param dir the datastore directory, named in messages
 * @param meta the metadata store
 * @param records every live record's reference state
 * @param segments the segment files
 * @param capacity the capacity limit and alarms
 * @param usage the segments' live bytes and unpublished records
 * @param commits the commit pipeline and its lock
 * @param volumes the volumes, by name
 */
record StoreParts(Path dir, MetaStore meta, RecordTable records, SegmentFiles segments, Capacity capacity,
    SegmentUsage usage, CommitPipeline commits, VolumeCatalog volumes) {}
