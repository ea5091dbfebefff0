package io.vstore.server.http;

/** Answers one request; what it throws becomes a problem+json response (see {@link Problems}). */
@FunctionalInterface
public interface RouteHandler {
  /** Handles the exchange, writing the response through it. */
  void handle(Exchange exchange) throws Exception;
}
