/**
 * The VHD format (qemu's {@code vpc}): fixed, dynamic and differencing disks as written by Virtual
 * PC, Hyper-V, Disk2vhd, XenServer and qemu.
 *
 * <p>Interrupted writes: a new block is appended by first writing the footer at the new end of
 * the file, then the block's sector bitmap over the old footer, then its data; the BAT entry that
 * points at the block is written only at {@code flush()}, after the data is durable. A write
 * interrupted at any point therefore leaves a file whose footer and BAT are valid and whose BAT
 * points only at complete blocks; what the interruption can leave behind is unreferenced space
 * before the footer, which {@code check} reports as a leak (exit code 3), as qemu-img reports
 * leaked clusters. A file whose trailing footer is missing is opened through the footer copy at
 * offset 0 and reported by {@code check} as incomplete.
 *
 * <p>Virtual size follows qemu: the CHS geometry's size, except for creators known to use the
 * footer's current size and for disks with the maximum geometry.
 */
package io.vstore.vdisk.vhd;
