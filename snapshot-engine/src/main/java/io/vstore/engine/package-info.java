/**
 * Workflows on the datastore's copy-on-write mechanism: the VM inventory with VM-consistent
 * snapshot trees and the VMs' media files (ISO and floppy images, NVRAM, each in a volume of its
 * own), and linked-clone desktop pools.
 *
 * <p>The inventory is a JSON document of its own ({@code <datastore>/engine/inventory.json}),
 * replaced atomically (temp file, fsync, rename, fsync of the directory) and owned by the process
 * that owns the datastore. Every operation that touches both the inventory and the datastore is
 * written ahead: the record is first saved with a {@link io.vstore.engine.Pending} operation that
 * names every volume and snapshot it will touch (all names are deterministic), then the datastore
 * steps run, each idempotent, then the record is saved without the pending operation. Opening the
 * inventory finishes or undoes whatever a crash interrupted: creations are rolled back (a crash
 * leaves the before state), everything else is rolled forward (the after state), so a crash
 * never leaves a mix and never orphans a volume.
 */
package io.vstore.engine;
