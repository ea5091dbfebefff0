/**
 * The VHDX format (Hyper-V): fixed, dynamic and differencing disks, with CRC32C-checked headers,
 * region tables and metadata, and replay of the metadata log.
 *
 * <p>Log: a file whose log holds entries not yet applied is replayed when opened read-write (then
 * the log GUID is cleared in both headers) and refused when opened read-only, since reading it
 * without the replay could return stale metadata.
 *
 * <p>Interrupted writes: vstore orders data before the BAT instead of logging its own updates. A
 * new payload block (or sector bitmap block) is appended at the end of the file; at
 * {@code flush()} the file is synced, then the bitmaps and BAT entries that point at the new
 * blocks are written, then synced again. An interruption at any point leaves a valid file whose
 * BAT is either the old one (new blocks unreferenced, harmless space at the end) or the new one
 * over durable data. The write GUIDs in the headers are changed before the first change of a
 * session by writing the non-current header first, so one valid header exists at every moment.
 */
package io.vstore.vdisk.vhdx;
