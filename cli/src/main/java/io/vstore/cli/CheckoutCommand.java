package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vstore.cli.client.DaemonClient;
import io.vstore.offline.PolicyDocument;
import io.vstore.offline.client.OfflineCopy;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore checkout VM --server URL --to DIR ...} (on the client: an offline copy of a VM) and
 * {@code vstore checkout list|info|rollback|renew} (the server's check-outs, through the daemon, or
 * a client copy's contact and roll-back).
 */
@Command(name = "checkout", mixinStandardHelpOptions = true,
    description = {"Check a VM out of a server into an offline copy (DIR): its disks, configuration and signed",
        "policy; the server copy stays locked until check-in or roll-back. Run the same command again to resume",
        "an interrupted check-out. The token is the global --token (or VSTORE_TOKEN); --ca-cert trusts a",
        "self-signed server."},
    subcommands = {CheckoutCommand.ListCmd.class, CheckoutCommand.Info.class, CheckoutCommand.Rollback.class,
        CheckoutCommand.Renew.class})
final class CheckoutCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Parameters(index = "0", paramLabel = "VM", arity = "0..1", description = "The VM to check out.") String vm;
  @Option(names = "--server", paramLabel = "URL", description = "The daemon's API (https://HOST:PORT).") String server;
  @Option(names = "--to", paramLabel = "DIR", description = "The directory of the offline copy (new or empty).")
  Path to;
  @Option(names = "--passphrase-file", paramLabel = "F", description = "File whose first line is the copy's passphrase.")
  Path passphraseFile;
  @Option(names = "--stream", description = {"Instant on: export the disks over NBD at once (see --nbd-listen);",
      "what has not arrived is fetched on demand while the download goes on. Runs until Ctrl-C or SIGTERM;",
      "run it again to resume."})
  boolean stream;
  @Option(names = "--nbd-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:10809",
      description = "With --stream: where the disks are served (default: ${DEFAULT-VALUE}).")
  String nbdListen;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    if (stream && vm != null && server != null && to != null && passphraseFile != null) {
      return stream(Vstore.globals(spec));
    }
    if (vm == null || server == null || to == null || passphraseFile == null) {
      throw new IllegalArgumentException("vstore checkout needs VM, --server URL, --to DIR and --passphrase-file F"
          + " (or a subcommand: list, info, rollback, renew)");
    }
    Vstore g = Vstore.globals(spec);
    OfflineCopy.CheckoutReport r = OfflineCopy.checkout(vm, server, token(g), g.caCert, to.toAbsolutePath(),
        passphrase(passphraseFile), OfflineCopy.Progress.NONE);
    output.print(r, (out, v) -> out.println((v.resumed() ? "resumed and finished" : "checked out") + " VM " + v.vm()
        + " (check-out " + v.checkoutId() + ", " + v.disks() + " disks, " + v.dataBytes() + " bytes of data, "
        + v.bytesReceived() + " bytes received) into " + to));
    return 0;
  }

  private int stream(Vstore g) throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    try (io.vstore.offline.client.StreamingCheckout s = io.vstore.offline.client.StreamingCheckout.start(vm, server,
        token(g), g.caCert, to.toAbsolutePath(), passphrase(passphraseFile),
        ServeCommand.address("--nbd-listen", nbdListen), OfflineCopy.Progress.NONE)) {
      for (String e : s.exports()) {
        out.println("serving nbd://" + s.address().getHostString() + ":" + s.address().getPort() + "/" + e);
      }
      out.println("VM " + vm + " streams from " + server + " into " + to + "; stop with Ctrl-C or SIGTERM");
      out.flush();
      java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
      Signals.onStop(stop::countDown);
      boolean reported = false;
      while (!stop.await(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        if (!reported && s.awaitDownload(0)) {
          reported = true;
          out.println("download complete (" + s.bytesReceived() + " bytes received); the copy is ready and keeps"
              + " running");
          out.flush();
        }
      }
    }
    return 0;
  }

  static String token(Vstore g) {
    String t = g.token != null ? g.token : System.getenv("VSTORE_TOKEN");
    if (t == null || t.isBlank()) {
      throw new IllegalArgumentException("give the server's API token with --token or VSTORE_TOKEN");
    }
    return t;
  }

  static char[] passphrase(Path file) throws java.io.IOException {
    String text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8);
    int nl = text.indexOf('\n');
    String line = nl < 0 ? text : text.substring(0, nl);
    if (line.endsWith("\r")) {
      line = line.substring(0, line.length() - 1);
    }
    if (line.isEmpty()) {
      throw new IllegalArgumentException("passphrase file " + file + " is empty");
    }
    return line.toCharArray();
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the server's check-outs: who has which VM, since when, last contact, bytes out and back.")
  static final class ListCmd implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "checkout list")) {
        output.print(client.call("GET", "/api/v1/checkouts", null), ListCmd::print);
      }
      return 0;
    }

    static void print(PrintWriter out, JsonNode list) {
      out.printf("%-12s %-16s %-12s %-11s %-24s %-24s %12s %12s%n", "ID", "VM", "USER", "STATE", "SINCE",
          "LAST CONTACT", "BYTES OUT", "BYTES BACK");
      for (JsonNode c : list) {
        out.printf("%-12s %-16s %-12s %-11s %-24s %-24s %12d %12d%n", c.path("id").asText(), c.path("vm").asText(),
            c.path("user").asText(), c.path("state").asText().toLowerCase(java.util.Locale.ROOT),
            c.path("since").asText(), c.path("lastContact").asText(), c.path("bytesOut").asLong(),
            c.path("bytesBack").asLong());
      }
    }
  }

  @Command(name = "info", mixinStandardHelpOptions = true, description = "Show one of the server's check-outs.")
  static final class Info implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "ID", description = "The check-out's id (co-...).") String id;
    @Mixin OutputOptions output;

    @Override
    public Integer call() throws Exception {
      try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "checkout info")) {
        output.print(client.call("GET", "/api/v1/checkouts/" + URLEncoder.encode(id, StandardCharsets.UTF_8), null),
            (out, c) -> {
              ListCmd.print(out, com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode().add(c));
              out.println("checkpoint: " + c.path("checkpoint").asText() + "; check-ins: " + c.path("checkins").asInt());
              for (JsonNode d : c.path("disks")) {
                out.println("disk " + d.path("index").asInt() + ": " + d.path("volume").asText() + " ("
                    + d.path("size").asLong() + " bytes), base " + d.path("baseChangeId").asText());
              }
            });
      }
      return 0;
    }
  }

  @Command(name = "rollback", mixinStandardHelpOptions = true,
      description = {"Roll a check-out back: the offline changes are discarded and the server copy unlocked.",
          "On the server give the check-out ID; on the client give --dir DIR (the copy is void afterwards)."})
  static final class Rollback implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "ID", arity = "0..1", description = "The check-out's id (on the server).")
    String id;
    @Option(names = "--dir", paramLabel = "DIR", description = "The client's offline copy.") Path dir;
    @Option(names = "--passphrase-file", paramLabel = "F", description = "The copy's passphrase (with --dir).")
    Path passphraseFile;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      if ((id == null) == (dir == null)) {
        throw new IllegalArgumentException("give a check-out ID (on the server) or --dir DIR (on the client)");
      }
      if (dir != null) {
        if (passphraseFile == null) {
          throw new IllegalArgumentException("--dir needs --passphrase-file");
        }
        OfflineCopy.rollback(dir, passphrase(passphraseFile), token(Vstore.globals(spec)));
        out.println("rolled back the check-out of " + dir + "; the copy is void");
      } else {
        try (DaemonClient client = ClientDispatch.connect(Vstore.globals(spec), "checkout rollback")) {
          JsonNode r = client.call("POST", "/api/v1/checkouts/" + URLEncoder.encode(id, StandardCharsets.UTF_8)
              + "/rollback", null);
          out.println("rolled back check-out " + id + " of VM " + r.path("vm").asText() + "; its server copy is unlocked");
        }
      }
      out.flush();
      return 0;
    }
  }

  @Command(name = "renew", mixinStandardHelpOptions = true,
      description = "Contact the server from an offline copy: report, and get the policy signed anew.")
  static final class Renew implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "DIR", description = "The offline copy.") Path dir;
    @Option(names = "--passphrase-file", paramLabel = "F", required = true,
        description = "File whose first line is the copy's passphrase.")
    Path passphraseFile;

    @Override
    public Integer call() throws Exception {
      PolicyDocument doc = OfflineCopy.contact(dir, passphrase(passphraseFile), token(Vstore.globals(spec)));
      PrintWriter out = spec.commandLine().getOut();
      out.println("renewed: policy signed at " + doc.issued() + (doc.policy().maxDaysOffline() > 0
          ? "; runs offline for up to " + doc.policy().maxDaysOffline() + " days" : "")
          + (doc.policy().expires() != null ? "; expires " + doc.policy().expires() : ""));
      out.flush();
      return 0;
    }
  }
}
