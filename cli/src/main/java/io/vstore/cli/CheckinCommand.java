package io.vstore.cli;

import io.vstore.offline.client.OfflineCopy;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code vstore checkin DIR}: sends an offline copy's changed blocks back; the server applies them all or nothing. */
@Command(name = "checkin", mixinStandardHelpOptions = true,
    description = {"Check an offline copy in: snapshot it, send only the blocks changed since check-out (or the",
        "last check-in), which the server applies all or nothing, snapshots, and unlocks (unless",
        "--keep-checked-out). Refused when the server copy changed meanwhile, unless --force."})
final class CheckinCommand implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Parameters(index = "0", paramLabel = "DIR", description = "The offline copy.") Path dir;
  @Option(names = "--passphrase-file", paramLabel = "F", required = true,
      description = "File whose first line is the copy's passphrase.")
  Path passphraseFile;
  @Option(names = "--keep-checked-out", description = "Send the changes and keep working offline (replicate).")
  boolean keep;
  @Option(names = "--force", description = "Apply even though the server copy changed since check-out.")
  boolean force;
  @Mixin OutputOptions output;

  @Override
  public Integer call() throws Exception {
    OfflineCopy.CheckinReport r = OfflineCopy.checkin(dir, CheckoutCommand.passphrase(passphraseFile),
        CheckoutCommand.token(Vstore.globals(spec)), keep, force);
    output.print(r, (out, v) -> out.println("checked in " + v.changedBytes() + " changed bytes (" + v.bytesSent()
        + " bytes sent); server snapshot " + v.serverSnapshot() + (keep ? "; still checked out" : "; lock released")));
    return 0;
  }
}
