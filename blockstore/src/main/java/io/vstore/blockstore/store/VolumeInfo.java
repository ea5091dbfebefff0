package io.vstore.blockstore.store;

/**
 * What {@code volume info} reports about one volume.
 *
 * @param name the volume's name
 * @param uuid its identity (the first half of its change ids)
 * @param size virtual size in bytes
 * @param allocated bytes its live records occupy in the datastore (after compression)
 * @param mapped bytes of the volume that hold data (before compression)
 * @param generation the last committed generation
 * @param created creation time, ISO-8601
 */
public record VolumeInfo(String name, String uuid, long size, long allocated, long mapped, long generation,
    String created) {}
