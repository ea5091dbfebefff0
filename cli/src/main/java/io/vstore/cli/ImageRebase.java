package io.vstore.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code vstore image rebase [-u] -b BACKING [-F FMT] FILE}: gives an image a new backing file (or
 * none, with {@code -b ""}) with qemu-img's semantics: safe mode keeps what the guest reads by
 * copying into FILE what the old and new chains read differently; {@code -u} only rewrites the
 * reference (for a backing file that was moved or renamed).
 */
@Command(name = "rebase", description = "Change an image's backing file (-b \"\" removes it), keeping the guest "
    + "content (copies what differs), as qemu-img rebase; -u rewrites only the reference.")
final class ImageRebase implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "FILE", description = "The image whose backing file changes.") Path file;
  @Option(names = "-b", paramLabel = "BACKING", required = true,
      description = "The new backing file, as it is to be stored (relative to FILE's directory); \"\" for none.")
  String backing;
  @Option(names = "-F", paramLabel = "FMT", description = "Format of the new backing file (default: detected).")
  String backingFormat;
  @Option(names = "-f", paramLabel = "FMT", description = "Format of FILE (default: detected from content).")
  String format;
  @Option(names = "-u", description = "Unsafe: rewrite only the reference, copy nothing.") boolean unsafe;

  @Override
  public Integer call() throws Exception {
    io.vstore.vdisk.ImageRebase.rebase(file, format, backing, backingFormat, unsafe);
    return 0;
  }
}
