/**
 * QEMU's qcow2 format, versions 2 and 3: reading and writing, backing chains, compressed clusters
 * (deflate, and zstd when the header says so), zero clusters, extended L2 entries (32 subclusters
 * per cluster, each allocated, zero or unallocated on its own; created with {@code extended_l2=on}),
 * external data files ({@code data_file}: 1:1 and not refcounted, kept raw-readable when
 * {@code data_file_raw} is set), images with internal snapshots (written copy-on-write: data
 * clusters and L2 tables a snapshot shares, COPIED clear, are copied before they change and one
 * reference to the old one is dropped, so the snapshots stay intact), and a {@code check} that counts references as
 * {@code qemu-img check} does.
 *
 * <h2>Verbs on whole tables</h2>
 *
 * {@link Qcow2Snapshots} creates, lists, applies and deletes internal snapshots as {@code qemu-img
 * snapshot} does (the snapshot table of {@code docs/interop/qcow2.txt}, read and written by
 * {@link Qcow2SnapshotTable}: a copy of the active L1 table per snapshot, one more reference on
 * every cluster it reaches, COPIED cleared on the active tables, {@code vm_state_size} 0, 24 bytes of
 * extra data with the disk size and icount -1, ids numbered from the highest one present). Resize
 * ({@code Qcow2Resize}: a larger L1 table on new clusters when needed; a shrink drops what lies past
 * the end) and the backing reference rewrite of {@code image rebase} ({@code Qcow2BackingReference})
 * work the same way, on a file no image has open, through {@link Qcow2Metadata}. Their steps are
 * ordered so that references are raised and synced before anything that uses them is published,
 * a table that is published replaces the old one by a one-sector header write, and references are
 * dropped only after that: an interrupted verb leaves leaked clusters at worst (and, between the
 * last two steps, COPIED flags that {@code qemu-img check -r all} sets right), never a snapshot or
 * active layer that reads differently.
 *
 * <h2>What an interrupted write leaves</h2>
 *
 * vstore never sets the dirty bit: refcounts are kept exact on disk, in this order at every flush
 * (and whenever the L2 cache must write a dirty table): new data clusters, then refcount blocks
 * with the new references, then (after a sync) the refcount table and header when the table moved,
 * then L2 tables, then (after a sync) the L1 table, and only then the refcount decrements for
 * clusters that the tables stopped using. A cluster freed this way is reused only after that. So
 * a process killed or a machine stopped at any moment leaves an image whose refcounts are never
 * lower than the references: {@code qemu-img check} (and {@code vstore image check}) may report
 * leaked clusters (exit code 3, harmless, repairable with {@code qemu-img check -r leaks}), never
 * corruption. Writes not followed by a completed flush may be lost, partly or wholly; a cluster
 * reads either its old or its new content. Every file is opened through a
 * {@link io.vstore.blockstore.store.ChannelOpener} ({@link Qcow2Format#Qcow2Format(io.vstore.blockstore.store.ChannelOpener)}),
 * so power-cut tests can drop unsynced writes and check this.
 *
 * <h2>Limits</h2>
 *
 * Refused with {@link io.vstore.vdisk.UnsupportedFormatException}: encryption, unknown
 * incompatible features; writing to images with the
 * corrupt bit (they open read-only); internal snapshots of images with an external data file (its
 * clusters are not refcounted); resizing a version 2 image that has snapshots (as in qemu-img) or an image with an external
 * data file. An image with the dirty bit (lazy refcounts
 * left by a killed writer) opens read-only as it is, and read-write after its refcounts are
 * rebuilt from the tables and the bit is cleared, as QEMU does.
 */
package io.vstore.vdisk.qcow2;
