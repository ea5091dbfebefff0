package io.vstore.ovf;

import java.util.ArrayList;
import java.util.List;

/**
 * One element of a parsed descriptor: namespace, local name, attributes, child elements and its
 * text. A small tree of our own instead of DOM so that the parser can count and bound what it builds
 * and the reader can match names without caring which prefix a producer chose for a namespace.
 */
final class XmlElement {
  /** One attribute: namespace URI ({@code ""} for none), local name and value. */
  record Attribute(String namespace, String localName, String value) {}

  private final String namespace;
  private final String localName;
  private final List<Attribute> attributes;
  private final List<XmlElement> children = new ArrayList<>();
  private final StringBuilder text = new StringBuilder();
  private final int line;

  XmlElement(String namespace, String localName, List<Attribute> attributes, int line) {
    this.namespace = namespace;
    this.localName = localName;
    this.attributes = attributes;
    this.line = line;
  }

  /** Returns the namespace URI, {@code ""} when the element has none. */
  String namespace() {
    return namespace;
  }

  /** Returns the local name (without prefix). */
  String localName() {
    return localName;
  }

  /** Returns the line the element starts on, for messages. */
  int line() {
    return line;
  }

  /** Returns the attributes in document order. */
  List<Attribute> attributes() {
    return attributes;
  }

  /** Returns the child elements in document order. */
  List<XmlElement> children() {
    return children;
  }

  void addChild(XmlElement child) {
    children.add(child);
  }

  void appendText(char[] ch, int start, int length) {
    text.append(ch, start, length);
  }

  /** Returns the element's own character content, trimmed. */
  String text() {
    return text.toString().strip();
  }

  /**
   * Returns the value of the attribute with this local name, preferring one in an OVF envelope
   * namespace, then one without namespace (OVF 0.9 producers and some hand-written files leave the
   * prefix off), then any other; {@code null} when absent.
   */
  String attr(String local) {
    Attribute other = null;
    Attribute plain = null;
    for (Attribute a : attributes) {
      if (!a.localName().equals(local)) {
        continue;
      }
      if (Namespaces.isOvf(a.namespace())) {
        return a.value();
      }
      if (a.namespace().isEmpty()) {
        plain = a;
      } else if (other == null) {
        other = a;
      }
    }
    return plain != null ? plain.value() : other != null ? other.value() : null;
  }

  /** Returns the value of the attribute with this namespace and local name, or {@code null}. */
  String attr(String ns, String local) {
    for (Attribute a : attributes) {
      if (a.localName().equals(local) && a.namespace().equals(ns)) {
        return a.value();
      }
    }
    return null;
  }

  /** Returns the first child with this local name in any namespace, or {@code null}. */
  XmlElement child(String local) {
    for (XmlElement c : children) {
      if (c.localName.equals(local)) {
        return c;
      }
    }
    return null;
  }

  /** Returns every child with this local name in any namespace. */
  List<XmlElement> childrenNamed(String local) {
    List<XmlElement> out = new ArrayList<>();
    for (XmlElement c : children) {
      if (c.localName.equals(local)) {
        out.add(c);
      }
    }
    return out;
  }

  /** Returns the text of the first child with this local name, or {@code null}. */
  String childText(String local) {
    XmlElement c = child(local);
    return c == null ? null : c.text();
  }

  /** Returns the texts of every child with this local name (multi-valued CIM properties). */
  List<String> childTexts(String local) {
    List<String> out = new ArrayList<>();
    for (XmlElement c : children) {
      if (c.localName.equals(local)) {
        out.add(c.text());
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "<" + localName + "> at line " + line;
  }
}
