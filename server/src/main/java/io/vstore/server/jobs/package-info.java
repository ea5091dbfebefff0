/**
 * The daemon's jobs: long operations (import, export, convert, flatten, clean, check, ...) run on
 * virtual threads under a per-datastore limit on heavy work, watched through progress events,
 * cancelled, and recorded in {@code <datastore>/jobs/} so that they outlive the daemon: a job a
 * crash cut short shows as interrupted, or resumes if its kind registered a resumer.
 */
package io.vstore.server.jobs;
