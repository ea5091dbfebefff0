package io.vstore.engine;

/**
 * One node of a VM's snapshot tree: every disk {@code D} of the VM has a datastore snapshot
 * {@code D@name} taken at the same instant.
 *
 * @param name its name, unique within the VM
 * @param description free text
 * @param created creation time, ISO-8601
 * @param parent the snapshot that was current when it was taken, or null for a root
 */
public record VmSnapshot(String name, String description, String created, String parent) {
  /** Returns this snapshot hung under {@code newParent}. */
  VmSnapshot withParent(String newParent) {
    return new VmSnapshot(name, description, created, newParent);
  }
}
