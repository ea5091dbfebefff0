/**
 * The daemon's side of check-out and check-in: sessions persisted in each datastore's
 * {@code checkouts/} directory ({@link io.vstore.offline.server.CheckoutRecords}), the server's
 * Ed25519 signing key, the policies, the transfer slots shared fairly by concurrent transfers, the
 * check-in's write-ahead staging log that makes applying changes all or nothing, and the
 * {@code /api/v1/checkouts} routes ({@link io.vstore.offline.server.Checkouts#install}).
 */
package io.vstore.offline.server;
