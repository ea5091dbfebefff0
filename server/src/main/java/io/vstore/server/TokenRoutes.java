package io.vstore.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.server.auth.Scope;
import io.vstore.server.auth.TokenStore;
import io.vstore.server.http.ApiException;
import io.vstore.server.http.Router;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code /api/v1/tokens}: list, create and revoke API tokens (admin scope). A token's secret is
 * returned once, by the request that creates it; listings never show it, nor its hash.
 */
final class TokenRoutes {
  private TokenRoutes() {}

  /** Adds the token routes for {@code tokens} to {@code router}. */
  static void register(Router router, TokenStore tokens) {
    router.add("GET", "/api/v1/tokens", Scope.ADMIN, "List the API tokens (never their secrets).",
        ex -> ex.json(200, tokens.list().stream().map(TokenRoutes::view).toList()));
    router.add("POST", "/api/v1/tokens", Scope.ADMIN, "Create a token; its secret is in this answer only.", ex -> {
      JsonNode body = ex.bodyTree();
      for (var field : body.properties()) {
        if (!List.of("name", "scope").contains(field.getKey())) {
          throw ApiException.badRequest("unknown field '" + field.getKey() + "' (expected name, scope)");
        }
      }
      JsonNode name = body.get("name");
      JsonNode scope = body.get("scope");
      if (name == null || !name.isTextual()) {
        throw ApiException.badRequest("give the token's name as a string in 'name'");
      }
      if (scope != null && !scope.isTextual()) {
        throw ApiException.badRequest("'scope' must be one of read, write, admin");
      }
      if (tokens.list().stream().anyMatch(t -> t.name().equals(name.asText()))) {
        throw new ApiException(409, "token " + name.asText() + " exists");
      }
      TokenStore.Created created = tokens.create(name.asText(), scope == null ? Scope.READ : Scope.parse(scope.asText()));
      Map<String, Object> view = view(created.token());
      view.put("token", created.secret());
      ex.json(201, view);
    });
    router.add("DELETE", "/api/v1/tokens/{id}", Scope.ADMIN, "Revoke a token, by id or name.", ex -> {
      String id = ex.path("id");
      if (!tokens.revoke(id)) {
        throw ApiException.notFound("no token " + id);
      }
      ex.noContent();
    });
  }

  private static Map<String, Object> view(TokenStore.Token t) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", t.id());
    v.put("name", t.name());
    v.put("scope", t.scope());
    v.put("created", t.created());
    return v;
  }
}
