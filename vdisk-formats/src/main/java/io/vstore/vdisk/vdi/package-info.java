/**
 * The VirtualBox VDI format (version 1.1): dynamic and fixed images with 1 MiB blocks.
 *
 * <p>Interrupted writes: a new block is written whole at the end of the data area, then at
 * {@code flush()} the file is synced, the block map entries written, then the header's count of
 * allocated blocks, then synced again. An interruption before the block map leaves the old map
 * (the half-written block is unreferenced and overwritten by the next allocation, which always
 * writes whole blocks); an interruption between the block map and the header leaves a count
 * mismatch that {@code check} reports as incomplete, as qemu-img check reports it.
 */
package io.vstore.vdisk.vdi;
