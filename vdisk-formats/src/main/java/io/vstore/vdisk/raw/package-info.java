/**
 * The raw format: the file is the disk, sparse-aware through Linux's {@code SEEK_DATA/SEEK_HOLE}
 * and {@code PUNCH_HOLE} (called through the FFM API), positional I/O, no metadata. An interrupted
 * write leaves some of the written bytes; there is nothing to check.
 */
package io.vstore.vdisk.raw;
