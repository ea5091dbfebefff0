package io.vstore.backup.repo;

import java.time.Instant;

/**
 * One key of a repository: a wrapped copy of its master key.
 *
 * @param id the key id (16 hex digits; the object {@code keys/<id>})
 * @param kind {@code passphrase} or {@code key-file}
 * @param label what the user called it
 * @param created when it was added
 */
public record KeyInfo(String id, String kind, String label, Instant created) {}
