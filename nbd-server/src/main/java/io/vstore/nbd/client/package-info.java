/**
 * A production NBD client: {@link io.vstore.nbd.client.NbdBlockDevice} is a
 * {@link io.vstore.blockstore.BlockDevice} over one NBD connection (fixed newstyle, {@code OPT_GO},
 * optional structured replies and {@code base:allocation}, STARTTLS, pipelined requests), so that any
 * NBD server, vstore's own or {@code qemu-nbd}, can be written to like a local volume. Reconnecting is
 * the caller's business: a broken connection fails every request in flight and every later one.
 */
package io.vstore.nbd.client;
