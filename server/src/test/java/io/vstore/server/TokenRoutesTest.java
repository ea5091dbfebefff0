package io.vstore.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenRoutesTest {
  @TempDir Path tmp;

  @Test
  void createsListsAndRevokesTokensShowingTheSecretOnce() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      String admin = d.adminToken();
      TestDaemon.Reply created = d.tcp("POST", "/api/v1/tokens", "{\"name\": \"ci\", \"scope\": \"write\"}", admin);
      assertThat(created.status()).isEqualTo(201);
      JsonNode token = created.json();
      assertThat(token.get("name").asText()).isEqualTo("ci");
      assertThat(token.get("scope").asText()).isEqualTo("write");
      String secret = token.get("token").asText();
      assertThat(secret).startsWith("vst_" + token.get("id").asText() + "_");

      TestDaemon.Reply list = d.unix("GET", "/api/v1/tokens", null);
      assertThat(list.status()).isEqualTo(200);
      assertThat(list.json()).extracting(t -> t.get("name").asText()).containsExactly("admin", "ci");
      assertThat(list.body()).doesNotContain(secret.substring(13)).doesNotContain("sha256").doesNotContain("\"token\"");

      // The new token works for what its scope allows, and not for token management.
      assertThat(d.tcp("GET", "/api/v1/version", null, secret).status()).isEqualTo(200);
      TestDaemon.Reply forbidden = d.tcp("GET", "/api/v1/tokens", null, secret);
      assertThat(forbidden.status()).isEqualTo(403);
      assertThat(forbidden.json().get("detail").asText()).isEqualTo("token ci has scope write; this needs admin");

      // Default scope is read; bad input is a 400 and changes nothing.
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": \"viewer\"}").json().get("scope").asText())
          .isEqualTo("read");
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": \"x\", \"scope\": \"root\"}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": \"bad name\"}").json().get("detail").asText())
          .startsWith("invalid token name 'bad name'");
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": 5}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": \"y\", \"extra\": 1}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/tokens", "{}").status()).isEqualTo(400);
      assertThat(d.unix("POST", "/api/v1/tokens", "{\"name\": \"ci\"}").status()).isEqualTo(409);
      assertThat(d.unix("GET", "/api/v1/tokens", null).json()).hasSize(3);

      // Revoke by id or name; the revoked token is refused from then on.
      assertThat(d.tcp("DELETE", "/api/v1/tokens/" + token.get("id").asText(), null, admin).status()).isEqualTo(204);
      assertThat(d.tcp("GET", "/api/v1/version", null, secret).status()).isEqualTo(401);
      assertThat(d.unix("DELETE", "/api/v1/tokens/viewer", null).status()).isEqualTo(204);
      TestDaemon.Reply missing = d.unix("DELETE", "/api/v1/tokens/viewer", null);
      assertThat(missing.status()).isEqualTo(404);
      assertThat(missing.json().get("detail").asText()).isEqualTo("no token viewer");
      assertThat(d.tcp("GET", "/api/v1/tokens", null, null).status()).isEqualTo(401);
    }
  }

  @Test
  void theOpenApiDocumentDescribesTheTokenRoutes() throws Exception {
    try (TestDaemon d = TestDaemon.start(null, tmp.resolve("ds"))) {
      JsonNode doc = d.unix("GET", "/api/v1/openapi.json", null).json();
      int described = 0;
      for (var route : d.daemon().router().routes()) {
        if (route.pattern().startsWith("/api/v1/tokens")) {
          JsonNode op = doc.get("paths").path(route.pattern()).path(route.method().toLowerCase(java.util.Locale.ROOT));
          assertThat(op.isObject()).as(route.method() + " " + route.pattern()).isTrue();
          assertThat(op.get("summary").asText()).isEqualTo(route.summary());
          described++;
        }
      }
      assertThat(described).isEqualTo(3);
      String text = new String(getClass().getClassLoader().getResourceAsStream("openapi/tokens.json").readAllBytes(),
          java.nio.charset.StandardCharsets.UTF_8);
      var refs = java.util.regex.Pattern.compile("\"\\$ref\": \"#/components/(\\w+)/(\\w+)\"").matcher(text);
      int found = 0;
      for (; refs.find(); found++) {
        assertThat(doc.path("components").path(refs.group(1)).has(refs.group(2))).as(refs.group()).isTrue();
      }
      assertThat(found).isPositive();
    }
  }
}
