package io.vstore.cli;

import io.vstore.offline.client.OfflineRun;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore offline run DIR}: runs an offline copy, its disks exported over NBD until stopped. */
@Command(name = "offline", mixinStandardHelpOptions = true, description = "Run an offline copy of a VM.",
    subcommands = OfflineCommand.Run.class)
final class OfflineCommand {
  private OfflineCommand() {}

  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Check the passphrase and the signed policy (expiry, days without contact, clock set back), then",
          "export the copy's disks over NBD (export names: the disks' volume names) until Ctrl-C or SIGTERM."})
  static final class Run implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "DIR", description = "The offline copy.") Path dir;
    @Option(names = "--passphrase-file", paramLabel = "F", required = true,
        description = "File whose first line is the copy's passphrase.")
    Path passphraseFile;
    @Option(names = "--nbd-listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:10809",
        description = "Where the disks are served (default: ${DEFAULT-VALUE}).")
    String nbdListen;

    @Override
    public Integer call() throws Exception {
      try (OfflineRun run = OfflineRun.start(dir, CheckoutCommand.passphrase(passphraseFile),
          ServeCommand.address("--nbd-listen", nbdListen))) {
        PrintWriter out = spec.commandLine().getOut();
        for (String e : run.exports()) {
          out.println("serving nbd://" + run.address().getHostString() + ":" + run.address().getPort() + "/" + e);
        }
        out.println("VM " + run.copy().vm() + " runs offline; stop with Ctrl-C or SIGTERM");
        out.flush();
        CountDownLatch stop = new CountDownLatch(1);
        Signals.onStop(stop::countDown);
        stop.await();
      }
      return 0;
    }
  }
}
