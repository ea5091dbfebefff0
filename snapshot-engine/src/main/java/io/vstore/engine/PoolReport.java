package io.vstore.engine;

/**
 * The space-savings report of a desktop pool: what full copies would take against what the pool
 * actually allocates.
 *
 * @param name the pool
 * @param base the base {@code VM@SNAP} it is built from
 * @param desktops number of desktops
 * @param provisioned sum of the virtual sizes of every desktop's disks (what full clones would
 *     reserve)
 * @param poolAllocated bytes the pool's own volumes (replica and desktops' disks) allocate
 * @param baseAllocated bytes the base VM's disks allocate (shared with the pool, counted whole)
 * @param allocated {@code poolAllocated + baseAllocated}
 * @param ratio {@code provisioned / allocated} (0 when nothing is allocated)
 */
public record PoolReport(String name, String base, int desktops, long provisioned, long poolAllocated,
    long baseAllocated, long allocated, double ratio) {}
