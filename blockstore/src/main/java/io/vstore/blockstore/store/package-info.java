/**
 * The embedded datastore: a directory holding a JSON descriptor, a RocksDB instance for all
 * metadata and append-only segment files for data.
 *
 * <p>Durability rests on one ordering rule: nothing RocksDB holds ever points at segment bytes
 * that are not yet durable. Map changes since the last flush live in per-volume in-memory
 * overlays that reads consult first; a flush syncs the segments, then commits every overlay to
 * RocksDB in one synced batch. A crash therefore loses at most unflushed writes, and segment bytes
 * past the last flush are never referenced. The cleaner keeps the same order: copy live records,
 * sync, commit the new map entries, and only then delete the old segment.
 */
package io.vstore.blockstore.store;
