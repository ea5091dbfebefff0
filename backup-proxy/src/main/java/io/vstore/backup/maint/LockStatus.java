package io.vstore.backup.maint;

/**
 * A lock as seen by another process: whether it still counts and why not.
 *
 * @param lock the lock
 * @param stale true if its holder is gone: a dead process of this host, or a lock of another host
 *     not refreshed within twice its interval
 * @param why the reason it is stale, or empty
 */
public record LockStatus(LockRecord lock, boolean stale, String why) {}
