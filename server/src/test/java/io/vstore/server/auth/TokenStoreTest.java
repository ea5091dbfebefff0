package io.vstore.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenStoreTest {
  @TempDir Path dir;

  @Test
  void tokensAuthenticateByTheirSecretUntilRevoked() throws Exception {
    TokenStore store = TokenStore.open(dir);
    TokenStore.Created ci = store.create("ci", Scope.WRITE);
    assertThat(store.authenticate(ci.secret())).contains(new Principal("ci", Scope.WRITE));
    assertThat(store.authenticate(ci.secret() + "x")).isEmpty();
    assertThat(TokenStore.open(dir).authenticate(ci.secret())).as("after a restart").isPresent();
    assertThat(store.revoke("ci")).isTrue();
    assertThat(TokenStore.open(dir).authenticate(ci.secret())).isEmpty();
  }

  @Test
  void aDamagedTokenFileIsAOneLineErrorNamingIt() throws Exception {
    Path file = dir.resolve(TokenStore.FILE);
    Files.writeString(file, "[{}]");
    assertThatThrownBy(() -> TokenStore.open(dir)).isInstanceOf(IOException.class)
        .hasMessageStartingWith("bad token file " + file + ": a token lacks");
    Files.writeString(file, "[{\"id\":\"0123abcd\",\"name\":\"x\",\"scope\":\"root\",\"sha256\":\"" + "0".repeat(64)
        + "\",\"created\":\"now\"}]");
    assertThatThrownBy(() -> TokenStore.open(dir)).hasMessageContaining("unknown scope 'root'");
    Files.writeString(file, "null");
    assertThatThrownBy(() -> TokenStore.open(dir)).hasMessageContaining("null instead of a list");
  }
}
