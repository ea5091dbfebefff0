/**
 * A small binding to Linux io_uring through the FFM API (no liburing): {@link
 * io.vstore.blockstore.uring.IoUring} queues reads of file descriptors into native memory and reaps
 * their completions in batches, {@link io.vstore.blockstore.uring.EventFd} lets another thread wake
 * a ring's owner, and {@link io.vstore.blockstore.uring.NativeFiles} opens the plain descriptors the
 * rings read. Callers check {@link io.vstore.blockstore.uring.IoUring#available()} and fall back to
 * blocking reads where the kernel, a seccomp filter or the platform refuses io_uring.
 */
package io.vstore.blockstore.uring;
