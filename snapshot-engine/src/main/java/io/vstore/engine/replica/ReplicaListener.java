package io.vstore.engine.replica;

/** Hears a pair change state (for events and logs); called on the thread that changed it, must not block. */
@FunctionalInterface
public interface ReplicaListener {
  /** Reports that the pair described by {@code status} had {@code event} (created, syncing, in-sync, ...). */
  void replicaChanged(String event, ReplicaStatus status);
}
