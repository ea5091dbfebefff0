/**
 * OVF descriptors: the model of an envelope (files, disks, networks, deployment options, virtual
 * systems and collections with their sections), a hardened reader for OVF 0.9, 1.x and 2.x, the
 * mapping of virtual hardware to a vstore VM configuration, the probe report, and a writer for OVF
 * 1.x and 2.x. The package layer (OVA tar, manifests, certificates, disk streams) is in
 * {@code io.vstore.ovf.pkg}.
 */
package io.vstore.ovf;
