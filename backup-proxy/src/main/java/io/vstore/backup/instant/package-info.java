/**
 * Instant restore and backup mounts: a volume that serves the guest at once while a background
 * copy fills it from a read-only source (a backup point), and the record that lets the copy resume
 * after a crash.
 *
 * <p>{@link io.vstore.backup.instant.InstantRestoreDevice} is the merged device: each unit (a
 * chunk of the source) is read from the volume once the volume holds it, else from the source.
 * {@link io.vstore.backup.instant.InstantRestore} creates or resumes one restore: the volume, its
 * {@link io.vstore.backup.instant.RestoreRecord} and {@link io.vstore.backup.instant.ZeroLog}, and
 * runs the copy.
 */
package io.vstore.backup.instant;
