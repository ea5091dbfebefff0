/**
 * The daemon's side of synchronous replication: {@link io.vstore.server.replica.ReplicaService}
 * runs the engine's {@link io.vstore.engine.replica.Replicas} over the datastores the daemon owns,
 * reaches NBD secondaries with {@link io.vstore.nbd.client.NbdBlockDevice}, publishes events and
 * metrics, and {@link io.vstore.server.replica.ReplicaRoutes} serves {@code /api/v1/replicas}.
 */
package io.vstore.server.replica;
