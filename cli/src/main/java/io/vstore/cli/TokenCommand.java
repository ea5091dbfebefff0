package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore token ...}: the daemon's API tokens, managed through the daemon. */
@Command(name = "token", mixinStandardHelpOptions = true,
    description = "Create, list and revoke the daemon's API tokens (needs a running 'vstore serve').",
    subcommands = {TokenCommand.Create.class, TokenCommand.ListCmd.class, TokenCommand.Revoke.class})
final class TokenCommand {
  private TokenCommand() {}

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a token and print its secret (shown only this once).")
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "NAME", description = "A name for the token (letters, digits, . _ @ -).")
    String name;
    @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "read",
        description = "read (look), write (change the datastores) or admin (tokens, host files) (default: ${DEFAULT-VALUE}).")
    String scope;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "token create")) {
        JsonNode t = client.call("POST", "/api/v1/tokens", Map.of("name", name, "scope", scope));
        output.print(t, (out, v) -> {
          out.println("created token " + v.path("name").asText() + " (id " + v.path("id").asText() + ", scope "
              + v.path("scope").asText() + "); its secret, shown only now:");
          out.println(v.path("token").asText());
        });
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the tokens (never their secrets).")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "token list")) {
        output.print(client.call("GET", "/api/v1/tokens", null), ListCmd::print);
      }
      return 0;
    }

    /** Prints {@code tokens} as a table. */
    static void print(PrintWriter out, JsonNode tokens) {
      out.printf("%-8s  %-24s %-6s %s%n", "ID", "NAME", "SCOPE", "CREATED");
      for (JsonNode t : tokens) {
        out.printf("%-8s  %-24s %-6s %s%n", t.path("id").asText(), t.path("name").asText(), t.path("scope").asText(),
            t.path("created").asText());
      }
    }
  }

  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = "Revoke a token: requests that carry it are refused from now on.")
  static final class Revoke implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "ID|NAME", description = "The token's id or name.") String token;

    @Override
    public Integer call() throws IOException {
      try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "token revoke")) {
        client.call("DELETE", "/api/v1/tokens/" + URLEncoder.encode(token, StandardCharsets.UTF_8), null);
        spec.commandLine().getOut().println("revoked token " + token);
      }
      return 0;
    }
  }
}
