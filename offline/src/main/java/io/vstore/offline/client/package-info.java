/**
 * The client's side of an offline copy: the copy's directory ({@link io.vstore.offline.client.OfflineCopy}:
 * a datastore with the VM's disks, the manifest with the signed policy, MAC'd with a key derived
 * from the passphrase), the resumable check-out download, the check-in upload from a client-side
 * snapshot, and running the copy as NBD exports.
 */
package io.vstore.offline.client;
