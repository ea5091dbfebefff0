/**
 * Maintenance of a backup repository while backups keep running: locks that say who is working on
 * it (never one exclusive lock), prune (which points to keep, PBS's retention semantics) and
 * protection markers, garbage collection in two phases so that no chunk a running backup may still
 * reference is deleted, and sync of points and missing chunks to a second repository.
 */
package io.vstore.backup.maint;
