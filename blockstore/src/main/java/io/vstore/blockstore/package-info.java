/**
 * The spine every vstore module shares: {@link io.vstore.blockstore.BlockDevice}, its extents and
 * the errors a caller of a device can meet. The embedded datastore that implements devices lives in
 * {@code io.vstore.blockstore.store}.
 */
package io.vstore.blockstore;
