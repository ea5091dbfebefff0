/** The CLI's side of the daemon's HTTP API: a client over the datastore's Unix socket or TCP. */
package io.vstore.cli.client;
