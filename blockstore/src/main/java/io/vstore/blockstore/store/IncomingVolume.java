package io.vstore.blockstore.store;

/**
 * A volume a {@link VolumeTransplant} is building in a datastore, not yet published: hidden from
 * listings and names. Listed by {@link VolumeTransplant#incoming} so that a mover restarting
 * after a crash can resume ({@link VolumeTransplant#begin} with the same claim) or discard it.
 *
 * @param uuid the volume's uuid, the same as the source volume's (its change ids stay valid)
 * @param sourceName the volume's name in the source datastore
 * @param sourceDatastore the uuid of the source datastore
 * @param claim who may resume it (a mover's job id); never null here, as unclaimed ones are
 *     deleted when the datastore opens, but null while the transplant that made it runs
 * @param started when the transplant began, ISO-8601
 * @param snapshots how many of the source's snapshots it holds so far
 * @param copyingHead whether every snapshot is copied and the head is being copied
 * @param allocatedBytes the bytes its records take so far
 */
public record IncomingVolume(String uuid, String sourceName, String sourceDatastore, String claim, String started,
    int snapshots, boolean copyingHead, long allocatedBytes) {}
