/**
 * The daemon's REST resources under {@code /api/v1}: datastores, volumes, snapshots, clones,
 * changed-block tracking, VMs, pools and alarms, one class per resource, each registered on the
 * router by {@link io.vstore.server.api.ApiRoutes}. Requests address the datastore named by the
 * {@code datastore} query parameter (default: the first owned one), bodies are strict JSON, errors
 * are problem+json with the CLI's one-line messages, and every change is published on the event
 * bus. Quick operations run in the request; long ones (pool create, recompose, refresh) are jobs.
 */
package io.vstore.server.api;
