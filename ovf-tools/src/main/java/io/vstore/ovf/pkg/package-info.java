/**
 * The OVF package layer: what holds a descriptor and its files, read and written in one pass.
 *
 * <p>{@link io.vstore.ovf.pkg.OvfPackage} opens an OVA (tar, from a seekable file or a stream) or an
 * OVF directory and delivers the descriptor's bytes first, then its manifest and certificate, then
 * the referenced files as streams (or ranged channels into the OVA when stored plainly), with
 * chunked ({@code ovf:chunkSize}) files reassembled, gzip files decompressed and every member
 * checked against the manifest while it streams. {@link io.vstore.ovf.pkg.DiskReader} copies a disk
 * from a package into a {@link io.vstore.blockstore.BlockDevice}; {@link io.vstore.ovf.pkg.OvaWriter}
 * writes a package with streamOptimized VMDK disks, manifest and optional signature.
 *
 * <p>The descriptor's XML is not parsed here: {@code io.vstore.ovf} does that and hands this layer
 * the list of {@link io.vstore.ovf.pkg.FileRef}s from the References section.
 */
package io.vstore.ovf.pkg;
