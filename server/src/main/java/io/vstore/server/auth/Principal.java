package io.vstore.server.auth;

/**
 * Who made a request: a token (by id) with its scope, a dashboard session, or the local user on
 * the Unix socket (whose file mode already restricts it to the datastore's owner).
 */
public record Principal(String name, Scope scope) {
  /** The owner of the datastore, connected over its Unix socket. */
  public static final Principal LOCAL = new Principal("local", Scope.ADMIN);

  /** Throws {@link ForbiddenException} unless this principal's scope allows {@code needed}. */
  public void require(Scope needed) {
    if (!scope.allows(needed)) {
      throw new ForbiddenException("token " + name + " has scope " + scope.label() + "; this needs " + needed.label());
    }
  }
}
