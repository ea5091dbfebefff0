/**
 * Offline copies of VMs (check-out, run disconnected, check-in): what the daemon and the client
 * share — the framed, compressed and checksummed block stream that carries disk data both ways
 * ({@link io.vstore.offline.FrameWriter}, {@link io.vstore.offline.FrameReader}), the check-out
 * policy and its Ed25519 signature ({@link io.vstore.offline.Policy},
 * {@link io.vstore.offline.SignedPolicy}). The daemon's side is in {@code server}, the client's in
 * {@code client}.
 */
package io.vstore.offline;
