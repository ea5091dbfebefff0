/**
 * The backup repository: deduplicated, compressed and optionally encrypted chunks in packs, an
 * index of where each chunk is, and backup points whose chunk maps are paged trees, all stored as
 * immutable objects in an {@link io.vstore.backup.store.ObjectStore}. {@link
 * io.vstore.backup.repo.Repository} is the entry point; docs/FORMATS.md draws every object's bytes.
 *
 * <p>Writes are ordered so that a crash at any moment leaves a consistent repository: packs, then
 * the index objects naming them, then a point's pages, then its manifest.
 */
package io.vstore.backup.repo;
