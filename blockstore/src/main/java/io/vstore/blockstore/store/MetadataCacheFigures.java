package io.vstore.blockstore.store;

/**
 * What a datastore's metadata pages take in memory (see {@code docs/ARCHITECTURE.md}, "Metadata in
 * memory").
 *
 * @param budget the budget in bytes ({@link DatastoreOptions#metadataCacheBytes})
 * @param used the bytes of the block-map and record-state pages held now
 * @param evictions pages evicted since the datastore was opened
 */
public record MetadataCacheFigures(long budget, long used, long evictions) {}
