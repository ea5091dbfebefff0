package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vstore dashboard}: asks the daemon that owns the datastore (over its Unix socket, so only
 * the datastore's owner can) for a one-time login link to its web dashboard, the way
 * {@code jupyter server list} hands out a tokened URL.
 */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
    description = "Print a one-time link that logs a browser in to the web dashboard of the daemon "
        + "('vstore serve --listen 127.0.0.1:PORT') that owns the datastore. The link works once, "
        + "within 5 minutes. JSON: {\"url\", \"scope\", \"expires\"}.")
final class DashboardCommand implements Callable<Integer> {
  @Mixin DatastoreLocation location;
  @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "admin",
      description = "What the browser session may do: read, write or admin (default: admin).")
  String scope;
  @Mixin OutputOptions output;
  @Spec CommandSpec spec;

  /** The login link as the daemon hands it out. */
  record Login(String url, String scope, String expires) {}

  @Override
  public Integer call() throws Exception {
    Path ds = location.path();
    Optional<DaemonClient> found = DaemonClient.local(ds);
    if (found.isEmpty()) {
      throw new IllegalStateException("no daemon owns datastore " + ds
          + ": start 'vstore serve --listen 127.0.0.1:PORT' to use the dashboard");
    }
    try (DaemonClient client = found.get()) {
      JsonNode reply = client.call("POST", "/api/v1/dashboard/logins", Map.of("scope", scope));
      Login login = new Login(reply.path("url").asText(), reply.path("scope").asText(), reply.path("expires").asText());
      output.print(login, (out, l) -> {
        out.println(l.url());
        spec.commandLine().getErr().println("Open this link in a browser on this host within 5 minutes; it logs in once ("
            + l.scope() + " session).");
        spec.commandLine().getErr().flush();
      });
    }
    return 0;
  }
}
