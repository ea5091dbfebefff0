package io.vstore.server.http;

import io.vstore.server.auth.Principal;
import java.util.Optional;
import org.eclipse.jetty.server.Request;

/**
 * Finds who made a TCP request: a bearer token, a dashboard session cookie. Requests on the Unix
 * socket need none (its mode restricts it to the datastore's owner).
 */
@FunctionalInterface
public interface Authenticator {
  /**
   * Returns the request's principal, or empty if this authenticator does not recognise it.
   *
   * @throws ApiException 401 or 403 if it recognises the credential but refuses it (a session
   *     cookie without its CSRF token on a state-changing request)
   */
  Optional<Principal> authenticate(Request request);
}
