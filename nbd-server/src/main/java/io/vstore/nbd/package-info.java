/**
 * The NBD server: exports any {@link io.vstore.blockstore.BlockDevice} over the Network Block
 * Device protocol (fixed newstyle negotiation, structured replies, metadata contexts, TLS), so that
 * QEMU and every other NBD client can use vstore's disks.
 *
 * <p>The public surface is {@link io.vstore.nbd.NbdServer}, {@link io.vstore.nbd.ExportRegistry},
 * {@link io.vstore.nbd.Export}, the metadata-context types ({@link io.vstore.nbd.MetaContextSource},
 * {@link io.vstore.nbd.MetaContexts}, {@link io.vstore.nbd.ChangedAreas},
 * {@link io.vstore.nbd.StatusExtent}), {@link io.vstore.nbd.TlsContexts} and
 * {@link io.vstore.nbd.ScratchDevice} for in-memory exports; the wire protocol stays
 * package-private.
 */
package io.vstore.nbd;
