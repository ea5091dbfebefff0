/**
 * The vstore daemon ({@code vstore serve}): the one process that owns datastores while VMs run.
 * It serves the NBD exports, runs long operations as jobs, and answers the CLI, the REST API
 * ({@code /api/v1}), Prometheus ({@code /metrics}) and the web dashboard over HTTP on a Unix
 * socket inside each datastore and, when asked, on TCP with tokens and TLS.
 */
package io.vstore.server;
