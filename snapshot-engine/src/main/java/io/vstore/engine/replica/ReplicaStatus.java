package io.vstore.engine.replica;

/**
 * One side of a pair as {@code vstore replica list|info} shows it.
 *
 * @param id the pair's id
 * @param role PRIMARY or SECONDARY
 * @param datastore the datastore holding this side's volume
 * @param volume the volume
 * @param peer the other side (datastore path or NBD URI)
 * @param peerVolume the volume on the other side
 * @param state SYNCING, ACTIVE, DISCONNECTED, PAUSED or FENCED for a primary; SECONDARY or PROMOTED
 * @param epoch the pair's epoch as this side knows it
 * @param bytesBehind bytes the secondary lacks (0 when ACTIVE; for a secondary, 0)
 * @param lagSeconds seconds since the secondary last held every acknowledged write (0 when ACTIVE)
 * @param bytesSent bytes the sync and resyncs copied since this process started
 * @param bytesMirrored bytes of client writes mirrored since this process started
 * @param lastError the last error that disconnected or fenced the pair, or null
 * @param created when the pair was made
 */
public record ReplicaStatus(String id, String role, String datastore, String volume, String peer, String peerVolume,
    String state, long epoch, long bytesBehind, double lagSeconds, long bytesSent, long bytesMirrored, String lastError,
    String created) {}
