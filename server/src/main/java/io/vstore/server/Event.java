package io.vstore.server;

import java.time.Instant;
import java.util.Map;

/**
 * Something that happened in the daemon: job progress and state, an alarm, an object created or
 * deleted. {@code type} is dotted ({@code job.progress}, {@code alarm.raised}, {@code volume.created});
 * {@code data} is small and JSON-friendly.
 */
public record Event(long id, Instant time, String type, String datastore, Map<String, Object> data) {}
