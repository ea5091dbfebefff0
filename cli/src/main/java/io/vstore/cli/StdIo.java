package io.vstore.cli;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * The binary streams {@code -} stands for (stdin when read, stdout when written), and the one
 * overwrite rule of every command writing a file: an existing file is refused unless
 * {@code --force}. A runner executing commands for another process (the daemon) binds
 * {@link #STREAMS} to that process's streams; a command line uses the process's own.
 */
final class StdIo {
  /** The streams {@code -} stands for in the current command, when a runner provides them. */
  static final ScopedValue<Streams> STREAMS = ScopedValue.newInstance();

  /** Binary standard input and output. */
  record Streams(InputStream in, OutputStream out) {}

  private StdIo() {}

  /**
   * Returns whether the positional parameter {@code label} of {@code command} was given as
   * {@code -}. Asked of what the user typed, not of the converted {@link Path}: a runner's
   * converter resolves relative paths against the caller's directory, {@code -} included.
   */
  static boolean isStd(CommandSpec command, String label) {
    for (PositionalParamSpec p : command.positionalParameters()) {
      if (p.paramLabel().equals(label)) {
        return p.originalStringValues().equals(java.util.List.of("-"));
      }
    }
    throw new IllegalStateException(command.qualifiedName() + " has no parameter " + label);
  }

  /** Returns binary standard input. */
  static InputStream in() {
    return STREAMS.isBound() ? STREAMS.get().in() : System.in;
  }

  /** Returns binary standard output; closing it only flushes. */
  static OutputStream out() {
    OutputStream out = STREAMS.isBound() ? STREAMS.get().out() : System.out;
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        flush();
      }
    };
  }

  /** Throws unless {@code file} may be written: absent, or {@code force} given. */
  static void checkOverwrite(Path file, boolean force) {
    if (!force && Files.exists(file)) {
      throw new IllegalArgumentException(file + " exists; use --force to overwrite it");
    }
  }
}
