package io.vstore.blockstore.store;

/**
 * What {@code snapshot list} reports about one snapshot.
 *
 * @param volume the volume it belongs to
 * @param name its name; {@code volume@name} names it as a device
 * @param changeId the change id of the state it captures
 * @param created creation time, ISO-8601
 * @param allocated bytes of data its view holds (before compression), the parent's included
 * @param unique bytes only it references: freed if it is deleted
 * @param shared bytes it shares with the volume, other snapshots or a parent
 * @param clones volumes cloned from it
 */
public record SnapshotInfo(String volume, String name, String changeId, String created, long allocated, long unique,
    long shared, java.util.List<String> clones) {}
