package io.vstore.blockstore.store;

/**
 * What one cleaning pass did.
 *
 * @param segmentsCleaned segment files rewritten and deleted
 * @param recordsMoved live records copied out of them
 * @param bytesMoved stored bytes copied
 * @param bytesReclaimed file bytes released
 */
public record CleanerReport(int segmentsCleaned, long recordsMoved, long bytesMoved, long bytesReclaimed) {}
