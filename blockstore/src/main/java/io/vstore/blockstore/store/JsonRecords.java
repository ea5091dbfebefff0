package io.vstore.blockstore.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.ByteArrayOutputStream;
import java.io.CharConversionException;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Reads and writes the block store's small JSON objects (the datastore descriptor and the catalog
 * entries) field by field with Jackson's streaming API. Jackson's object mapper did the same
 * through reflection, and creating it and introspecting the first record type cost a short
 * command more than opening RocksDB (about a third of {@code vstore volume list}'s start-up).
 * The JSON is the same: fields in the order written, unknown fields skipped on reading, a field
 * that is absent reads as null, 0 or false.
 */
final class JsonRecords {
  private static final JsonFactory FACTORY = new JsonFactory();

  private JsonRecords() {}

  /** Receives the fields of an object being read. */
  interface Fields {
    /**
     * Reads the value of the field {@code name}, the parser on its first token; returns false to
     * have it skipped (a field this version does not know).
     */
    boolean read(String name, JsonParser p) throws IOException;
  }

  /** Writes the fields of an object. */
  interface Writer {
    void write(JsonGenerator g) throws IOException;
  }

  /** Reads the one JSON object of {@code json}, handing each field to {@code fields}. */
  static void read(byte[] json, Fields fields) throws IOException {
    try (JsonParser p = FACTORY.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new JsonParseException(p, "expected a JSON object");
      }
      readFields(p, fields);
    } catch (CharConversionException e) {
      // Jackson guesses the encoding from the first bytes; bytes it takes for UTF-32 and cannot
      // decode fail with a plain IOException: for the callers, that too is malformed JSON.
      throw new JsonParseException(null, "not JSON text: " + e.getMessage());
    }
  }

  /** Reads the fields of the object whose START_OBJECT {@code p} is on, up to its END_OBJECT. */
  static void readFields(JsonParser p, Fields fields) throws IOException {
    for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
      if (t != JsonToken.FIELD_NAME) {
        throw new JsonParseException(p, "expected a field name, found " + t);
      }
      String name = p.currentName();
      p.nextToken();
      if (!fields.read(name, p)) {
        p.skipChildren();
      }
    }
  }

  /** Returns the string value {@code p} is on (null for JSON null); throws for any other kind of value. */
  static String text(JsonParser p) throws IOException {
    return switch (p.currentToken()) {
      case VALUE_STRING -> p.getText();
      case VALUE_NULL -> null;
      default -> throw new JsonParseException(p, "field '" + p.currentName() + "' must be a string");
    };
  }

  /** Returns the integer value {@code p} is on (0 for JSON null); throws for any other kind of value. */
  static long number(JsonParser p) throws IOException {
    return switch (p.currentToken()) {
      case VALUE_NUMBER_INT -> p.getLongValue();
      case VALUE_NULL -> 0;
      default -> throw new JsonParseException(p, "field '" + p.currentName() + "' must be an integer");
    };
  }

  /** Returns the {@code int} value {@code p} is on (0 for JSON null); throws for any other kind of value. */
  static int smallNumber(JsonParser p) throws IOException {
    return switch (p.currentToken()) {
      case VALUE_NUMBER_INT -> p.getIntValue();
      case VALUE_NULL -> 0;
      default -> throw new JsonParseException(p, "field '" + p.currentName() + "' must be an integer");
    };
  }

  /** Returns the boolean value {@code p} is on (false for JSON null); throws for any other kind of value. */
  static boolean bool(JsonParser p) throws IOException {
    return switch (p.currentToken()) {
      case VALUE_TRUE -> true;
      case VALUE_FALSE, VALUE_NULL -> false;
      default -> throw new JsonParseException(p, "field '" + p.currentName() + "' must be true or false");
    };
  }

  /** Returns one JSON object written by {@code writer} (which writes its fields), indented when {@code pretty}. */
  static byte[] write(boolean pretty, Writer writer) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      if (pretty) {
        g.useDefaultPrettyPrinter();
      }
      g.writeStartObject();
      writer.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }
}
