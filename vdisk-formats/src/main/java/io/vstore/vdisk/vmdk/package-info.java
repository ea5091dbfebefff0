/**
 * VMDK (VMware virtual disk) read and write: the text descriptor, hosted sparse extents
 * (monolithicSparse, twoGbMaxExtentSparse, streamOptimized), flat and zero extents, VMFS flat
 * descriptors (vmfs, vmfsThin), ESX snapshot deltas in VMFSSPARSE ("COWD") and SESparse extents
 * (both read-only, as in qemu), delta disks with CID/parentCID checking, creation and
 * consistency checking.
 *
 * <p>What an interrupted write leaves behind, per subformat:
 *
 * <ul>
 *   <li>Hosted sparse (monolithicSparse, twoGbMaxExtentSparse): a new grain's data is appended
 *       at once, but the grain table and directory entries that point at it are written only at
 *       {@code flush()}, after the data is synced, and synced in turn; a grain freed by discard is
 *       reused only after the flush that unmapped it. So a killed writer or a power cut leaves a
 *       valid image whose tables are those of the last flush, over durable data; at worst grains
 *       written since are referenced by no table, which {@code check} reports as a leak (exit
 *       code 3), never as corruption. Such space is found again before the next change and reused
 *       (for extents of up to 16384 grain tables, 512 GiB with 64 KiB grains; beyond that it stays
 *       a leak).
 *   <li>Flat extents: plain files, always valid; unflushed writes may be lost.
 *   <li>streamOptimized being created: the grain tables, directory and footer are written on
 *       close, so an interrupted stream has no footer; opening it fails and {@code check} reports
 *       it as incomplete (exit code 2).
 * </ul>
 */
package io.vstore.vdisk.vmdk;
