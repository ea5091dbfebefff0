package io.vstore.backup.engine;

import io.vstore.backup.repo.PointInfo;

/**
 * What backing up one volume did.
 *
 * @param volume the volume backed up
 * @param point the point written
 * @param mode how its data was found: {@code full} (first backup: allocated extents), {@code
 *     incremental} (changed areas since the previous point), {@code full-change-id-lost} (the previous
 *     point's change id could not be answered: every allocated extent read, only missing chunks
 *     stored), {@code full-resized} (the volume's size changed since the previous point)
 * @param note why the mode is not incremental, or null
 * @param bytesRead bytes read from the volume's snapshot
 * @param chunks chunks looked at
 * @param zeroChunks chunks that were all zeros (holes, nothing stored)
 * @param newChunks chunks the repository did not hold yet
 */
public record BackupResult(String volume, PointInfo point, String mode, String note, long bytesRead, long chunks,
    long zeroChunks, long newChunks) {}
