/**
 * Where a backup repository's objects live, behind {@link io.vstore.backup.store.ObjectStore}:
 * {@link io.vstore.backup.store.DirectoryStore} (a directory), {@link io.vstore.backup.store.S3Store}
 * (an S3 bucket: AWS S3, Ceph RGW, MinIO; versioned and object-locked buckets included) and
 * {@link io.vstore.backup.store.CachingStore} (local copies of an S3 repository's small objects).
 * {@link io.vstore.backup.store.ObjectStores#open(String)} turns a location from the command line
 * into one of them. Objects are immutable once written; the repository layer above names them so
 * that it never needs to overwrite one (which versioned and object-locked buckets forbid).
 */
package io.vstore.backup.store;
