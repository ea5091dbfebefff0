/**
 * The web dashboard: a static single page served at {@code /} that talks only to the REST API,
 * Jupyter-style one-time login links ({@code vstore dashboard}), browser sessions with CSRF tokens,
 * and the headers that keep the page to its own origin.
 */
package io.vstore.server.web;
