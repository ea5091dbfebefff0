/**
 * VMDK (VMware virtual disk) read and write: the text descriptor, hosted sparse extents
 * (monolithicSparse, twoGbMaxExtentSparse, streamOptimized), flat and zero extents, VMFS flat
 * descriptors, delta disks with CID/parentCID checking, creation and consistency checking.
 */
package io.vstore.vdisk.vmdk;
