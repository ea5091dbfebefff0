package io.vstore.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;

/** One run of {@code vstore} through the launcher's entry point: exit code, stdout and stderr. */
record CliRun(int exit, String out, String err) {
  /** Runs {@code args} as the launcher does (through a daemon when one owns the datastore). */
  static CliRun of(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Vstore.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new CliRun(exit, out.toString(), err.toString());
  }

  /** Parses stdout as JSON. */
  JsonNode json() throws IOException {
    return new ObjectMapper().readTree(out);
  }
}
