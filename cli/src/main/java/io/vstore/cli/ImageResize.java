package io.vstore.cli;

import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageFormat;
import io.vstore.vdisk.ImageFormats;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code vstore image resize [--shrink] FILE [+|-]SIZE}: changes an image's virtual size as
 * {@code qemu-img resize} does (raw and qcow2, the formats qemu-img resizes; the others are
 * refused naming the format); shrinking, which drops the data past the new end, needs
 * {@code --shrink}.
 */
@Command(name = "resize", description = "Grow a raw or qcow2 image to SIZE, or by +SIZE; shrink (losing the data past"
    + " the end) only with --shrink, as qemu-img resize.")
final class ImageResize implements Callable<Integer> {
  @Spec CommandSpec spec;
  @Parameters(index = "0", paramLabel = "FILE", description = "The image file.") Path file;
  @Parameters(index = "1", paramLabel = "[+|-]SIZE", description = "The new size, or +SIZE/-SIZE relative to it.")
  String size;
  @Option(names = "-f", paramLabel = "FMT", description = "Format (default: detected from content).") String format;
  @Option(names = "--shrink", description = "Allow making the image smaller.") boolean shrink;

  @Override
  public Integer call() throws Exception {
    ImageFormat f = format == null ? ImageFormats.detect(file) : ImageFormats.byName(format);
    long current;
    try (DiskImage img = f.open(file, true, ImageFormats.chainOpener(file))) {
      current = img.size();
    }
    f.resize(file, target(current, size), shrink);
    spec.commandLine().getOut().println("Image resized.");
    return 0;
  }

  /**
   * Returns the size {@code spec} asks for: absolute, or relative to {@code current} with a sign;
   * a multiple of 512 bytes (shared with {@code volume resize}).
   */
  static long target(long current, String spec) {
    String s = spec.strip();
    long target;
    if (s.startsWith("+")) {
      target = Math.addExact(current, Sizes.parse(s.substring(1)));
    } else if (s.startsWith("-")) {
      target = current - Sizes.parse(s.substring(1));
    } else {
      target = Sizes.parse(s);
    }
    if (target < 0) {
      throw new IllegalArgumentException("new size " + target + " is negative");
    }
    if (target % 512 != 0) {
      throw new IllegalArgumentException("new size " + target + " is not a multiple of 512 bytes");
    }
    return target;
  }
}
