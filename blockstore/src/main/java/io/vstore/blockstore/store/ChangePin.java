package io.vstore.blockstore.store;

/**
 * A pinned change id: it stays answerable by changed-block tracking until unpinned.
 *
 * @param volume the volume whose change id it is
 * @param changeId the change id, {@code <volume-uuid>/<generation>}
 * @param label the pin's name, unique in the datastore, or empty for an unnamed pin
 * @param created when it was pinned, ISO-8601
 */
public record ChangePin(String volume, String changeId, String label, String created) {}
