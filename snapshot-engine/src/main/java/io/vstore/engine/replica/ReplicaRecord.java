package io.vstore.engine.replica;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.Objects;

/**
 * One side of a replica pair as persisted in {@code <datastore>/replicas/<id>.json} (FORMATS.md).
 * Both sides of a pair share the id; each keeps its own record in its own datastore.
 *
 * @param format always {@link #FORMAT}
 * @param version the record layout's version
 * @param id the pair's id
 * @param role which side this record describes
 * @param volume the volume this side holds
 * @param peer the other side: for a primary the target (datastore path or {@code nbd://} URI), for
 *     a secondary the primary's datastore path
 * @param peerVolume the volume on the other side (the export name for an NBD target)
 * @param epoch the pair's generation: raised by promote; writes of a lower epoch are refused
 * @param state the intent that survives a restart: ACTIVE, PAUSED or FENCED for a primary, SECONDARY
 *     or PROMOTED for a secondary
 * @param fullCopyFrom primary: the offset from which the initial full copy still has to go (the
 *     volume's size once done)
 * @param ownPin this side's change id at the last point both sides agreed on (pinned in its change
 *     log as {@code replica:<id>:<generation>}), or null before the first
 * @param peerPin the other side's change id at that point, or null (always null for an NBD target)
 * @param created when the pair was made (ISO-8601)
 */
public record ReplicaRecord(String format, int version, String id, Role role, String volume, String peer, String peerVolume,
    long epoch, String state, long fullCopyFrom, String ownPin, String peerPin, String created) {
  /** The value of {@link #format}. */
  public static final String FORMAT = "vstore-replica";
  /** The version written. */
  public static final int VERSION = 1;

  /** Which side of the pair a record describes. */
  public enum Role { PRIMARY, SECONDARY }

  /** Checks the fields a record cannot do without. */
  public ReplicaRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(volume, "volume");
    Objects.requireNonNull(peer, "peer");
    Objects.requireNonNull(state, "state");
  }

  /** Returns whether the other side is an NBD export rather than a datastore of this process. */
  @JsonIgnore
  public boolean nbdPeer() {
    return peer.startsWith("nbd://") || peer.startsWith("nbds://");
  }

  ReplicaRecord withState(String s) {
    return new ReplicaRecord(format, version, id, role, volume, peer, peerVolume, epoch, s, fullCopyFrom, ownPin, peerPin, created);
  }

  ReplicaRecord withEpoch(long e) {
    return new ReplicaRecord(format, version, id, role, volume, peer, peerVolume, e, state, fullCopyFrom, ownPin, peerPin, created);
  }

  ReplicaRecord withFullCopyFrom(long from) {
    return new ReplicaRecord(format, version, id, role, volume, peer, peerVolume, epoch, state, from, ownPin, peerPin, created);
  }

  ReplicaRecord withPeer(String p) {
    return new ReplicaRecord(format, version, id, role, volume, p, peerVolume, epoch, state, fullCopyFrom, ownPin, peerPin, created);
  }

  ReplicaRecord withPins(String own, String peerId) {
    return new ReplicaRecord(format, version, id, role, volume, peer, peerVolume, epoch, state, fullCopyFrom, own, peerId, created);
  }
}
