/**
 * Synchronous replication of a volume to a secondary (a volume of another datastore of the same
 * process, or any NBD export): every write, zeroing and flush is acknowledged only when both copies
 * have it (RPO 0). What a disconnected secondary lacks is never tracked per write: a change id
 * pinned in the primary's change log names the last generation known to be durable on the secondary,
 * and a resync sends {@code changedAreas(since pin)}, which is exact and survives a crash. Epochs
 * fence an old primary after {@code promote}; after a failover the two sides' pins name the point
 * where they diverged, so re-protecting sends only the blocks either side changed since.
 *
 * <p>The public surface is {@link io.vstore.engine.replica.Replicas} (the registry a daemon holds),
 * {@link io.vstore.engine.replica.ReplicaStatus} and {@link io.vstore.engine.replica.ReplicaListener}.
 */
package io.vstore.engine.replica;
