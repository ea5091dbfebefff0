/**
 * Where a backup repository's objects live: a directory or an S3 bucket, behind {@link
 * io.vstore.backup.store.ObjectStore}. Objects are immutable once written; the repository layer
 * above names them so that it never needs to overwrite one (which versioned and object-locked
 * buckets forbid).
 */
package io.vstore.backup.store;
