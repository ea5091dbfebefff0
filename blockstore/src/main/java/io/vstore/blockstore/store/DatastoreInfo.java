package io.vstore.blockstore.store;

import java.util.List;

/**
 * What {@code datastore info} reports.
 *
 * @param path the datastore directory
 * @param uuid its identity
 * @param capacity capacity limit in bytes (configured, or used plus the file system's free space)
 * @param provisioned sum of the volumes' virtual sizes
 * @param allocated bytes held by live records
 * @param used bytes the segment files occupy (allocated plus space the cleaner has yet to reclaim)
 * @param overcommitRatio provisioned divided by capacity
 * @param volumes number of volumes
 * @param segments number of segment files
 * @param warningPercent usage that raises a warning
 * @param criticalPercent usage that raises a critical alarm
 * @param alarms the alarms currently raised
 * @param metadataCache what the metadata pages take in memory
 */
public record DatastoreInfo(String path, String uuid, long capacity, long provisioned, long allocated, long used,
    double overcommitRatio, int volumes, int segments, int warningPercent, int criticalPercent, List<Alarm> alarms,
    MetadataCacheFigures metadataCache) {}
