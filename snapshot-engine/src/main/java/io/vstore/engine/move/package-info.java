/**
 * The storage-VMotion mover: moves a volume that clients keep using to another datastore of the
 * same process, ESX 5's mirror-driver way. One copy pass over the source's allocated extents in
 * ascending order with a cursor ({@link io.vstore.engine.move.VolumeMove}), several regions at once
 * ({@link io.vstore.engine.move.RegionCopiers}); a
 * {@link io.vstore.engine.move.Mirror} on the source volume mirrors every write below the cursor
 * to the destination before it is acknowledged, so the pass converges whatever the write rate.
 * At the end a brief hold of writes switches every handle of the volume to the destination,
 * a verification pass compares both sides, and only then is the source deleted. Progress is kept
 * in a {@link io.vstore.engine.move.MoveRecord} in the source datastore, so a crash resumes the
 * move with the source authoritative until the switch. A VM's disks move one after another
 * ({@link io.vstore.engine.move.VmMove}); a desktop pool's desktops are spread over datastores
 * with one replica copy per datastore ({@link io.vstore.engine.move.PoolRebalance}).
 */
package io.vstore.engine.move;
