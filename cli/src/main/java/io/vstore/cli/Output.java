package io.vstore.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;

/** Prints command results as JSON ({@code --json}) with stable field names. */
public final class Output {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Output() {}

  /** Writes {@code value} (records, maps, lists) as indented JSON followed by a newline. */
  public static void json(PrintWriter out, Object value) {
    try {
      out.println(JSON.writeValueAsString(value));
      out.flush();
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot print " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }
}
