package io.vstore.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The little JSON the start-up path of a forwarded command needs: quoting strings for its request
 * and reading the NDJSON lines of the answer. A full JSON library costs hundreds of classes to load,
 * more than the whole exchange with the daemon; everything else uses Jackson.
 */
final class JsonText {
  private final String text;
  private int pos;

  private JsonText(String text) {
    this.text = text;
  }

  /** Returns {@code s} as a JSON string literal, quotes included. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  /**
   * Parses one JSON value: objects become {@link Map}s in their order, arrays {@link List}s,
   * numbers {@link Long} (or {@link Double} with a fraction or exponent), and true/false/null
   * themselves; fails with IllegalArgumentException naming the position of bad text.
   */
  static Object parse(String text) {
    JsonText p = new JsonText(text);
    Object value = p.value();
    p.space();
    if (p.pos != text.length()) {
      throw p.bad("end of text");
    }
    return value;
  }

  private Object value() {
    space();
    if (pos >= text.length()) {
      throw bad("a value");
    }
    char c = text.charAt(pos);
    return switch (c) {
      case '{' -> object();
      case '[' -> array();
      case '"' -> string();
      case 't' -> word("true", Boolean.TRUE);
      case 'f' -> word("false", Boolean.FALSE);
      case 'n' -> word("null", null);
      default -> number();
    };
  }

  private Map<String, Object> object() {
    Map<String, Object> out = new LinkedHashMap<>();
    pos++;
    space();
    if (peek() == '}') {
      pos++;
      return out;
    }
    while (true) {
      space();
      if (peek() != '"') {
        throw bad("a member name");
      }
      String name = string();
      space();
      expect(':');
      out.put(name, value());
      space();
      if (peek() == ',') {
        pos++;
      } else {
        expect('}');
        return out;
      }
    }
  }

  private List<Object> array() {
    List<Object> out = new ArrayList<>();
    pos++;
    space();
    if (peek() == ']') {
      pos++;
      return out;
    }
    while (true) {
      out.add(value());
      space();
      if (peek() == ',') {
        pos++;
      } else {
        expect(']');
        return out;
      }
    }
  }

  private String string() {
    pos++; // the opening quote
    StringBuilder b = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw bad("the end of a string");
      }
      char c = text.charAt(pos++);
      if (c == '"') {
        return b.toString();
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      if (pos >= text.length()) {
        throw bad("an escape");
      }
      char e = text.charAt(pos++);
      switch (e) {
        case '"', '\\', '/' -> b.append(e);
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (pos + 4 > text.length()) {
            throw bad("four hex digits");
          }
          try {
            b.append((char) Integer.parseInt(text, pos, pos + 4, 16));
          } catch (NumberFormatException ex) {
            throw bad("four hex digits");
          }
          pos += 4;
        }
        default -> {
          pos--;
          throw bad("an escape");
        }
      }
    }
  }

  private Object number() {
    int start = pos;
    boolean fraction = false;
    while (pos < text.length() && "+-0123456789.eE".indexOf(text.charAt(pos)) >= 0) {
      fraction |= "eE.".indexOf(text.charAt(pos)) >= 0;
      pos++;
    }
    String n = text.substring(start, pos);
    try {
      return fraction ? (Object) Double.parseDouble(n) : (Object) Long.parseLong(n);
    } catch (NumberFormatException e) {
      pos = start;
      throw bad("a value");
    }
  }

  private Object word(String word, Object value) {
    if (!text.startsWith(word, pos)) {
      throw bad("a value");
    }
    pos += word.length();
    return value;
  }

  private char peek() {
    return pos < text.length() ? text.charAt(pos) : 0;
  }

  private void expect(char c) {
    if (peek() != c) {
      throw bad("'" + c + "'");
    }
    pos++;
  }

  private void space() {
    while (pos < text.length() && " \t\r\n".indexOf(text.charAt(pos)) >= 0) {
      pos++;
    }
  }

  private IllegalArgumentException bad(String expected) {
    String found = pos < text.length() ? "'" + text.charAt(pos) + "'" : "the end";
    return new IllegalArgumentException("bad JSON: expected " + expected + " at offset " + pos + ", found " + found);
  }
}
