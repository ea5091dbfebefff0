/**
 * The backup and restore engine on top of a backup repository ({@code io.vstore.backup.repo}): it
 * reads a volume's snapshot (only allocated extents the first time, only changed areas since the
 * previous point's change id afterwards), cuts it into chunk-aligned chunks and stores them on both
 * cores; it restores a point into any {@link io.vstore.blockstore.BlockDevice} in parallel and
 * sparsely; {@link io.vstore.backup.engine.PointDevice} serves a point as a read-only device.
 *
 * <p>It knows datastores only through {@link io.vstore.blockstore.store.Datastore}; which volumes
 * make up a VM is the caller's business (the CLI asks the snapshot engine's inventory).
 */
package io.vstore.backup.engine;
