package io.vstore.ovf;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.parsers.SAXParser;
import javax.xml.parsers.SAXParserFactory;
import org.xml.sax.Attributes;
import org.xml.sax.InputSource;
import org.xml.sax.Locator;
import org.xml.sax.SAXException;
import org.xml.sax.SAXParseException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Parses descriptor bytes into an {@link XmlElement} tree with every limit a hostile file could
 * abuse closed: no DTD at all (so no external entities, no entity expansion: XXE and "billion
 * laughs" are refused before anything is resolved), a size cap, an element count cap, a depth cap
 * and an attribute count cap per element.
 *
 * <p>The encoding is decided from the bytes, not from the declaration: real descriptors claim
 * {@code UTF-16} on UTF-8 bytes, so a byte order mark or the zero bytes of UTF-16 text decide, else
 * the bytes must be valid UTF-8 (or the single-byte charset the declaration names).
 */
final class SafeXmlParser {
  /** Largest descriptor accepted; the largest real ones are well under 1 MiB. */
  static final int MAX_BYTES = 8 << 20;
  /** Most elements accepted; a vApp of 100 VMs with 50 items each stays far below. */
  static final int MAX_ELEMENTS = 200_000;
  /** Deepest nesting accepted (nested collections included). */
  static final int MAX_DEPTH = 64;
  /** Most attributes on one element. */
  static final int MAX_ATTRIBUTES = 256;

  private static final Pattern DECLARATION = Pattern.compile("\\A\\s*<\\?xml[^>]*\\?>");
  private static final Pattern DECLARED_ENCODING = Pattern.compile("encoding\\s*=\\s*[\"']([A-Za-z0-9._:-]+)[\"']");

  private SafeXmlParser() {}

  /** Parses {@code bytes}, naming {@code source} in every error. */
  static XmlElement parse(byte[] bytes, String source) throws OvfException {
    if (bytes.length > MAX_BYTES) {
      throw OvfException.bad(source + ": descriptor is " + bytes.length + " bytes, more than the limit of " + MAX_BYTES);
    }
    String text = decode(bytes, source);
    Matcher decl = DECLARATION.matcher(text);
    if (decl.find()) {
      // The parser gets characters, so the declared encoding has no meaning any more; dropping the
      // declaration keeps a wrong claim (UTF-16 on UTF-8 bytes) from being checked against them.
      text = text.substring(decl.end());
    }
    Handler handler = new Handler(source);
    try {
      SAXParser parser = factory().newSAXParser();
      parser.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      parser.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      InputSource in = new InputSource(new StringReader(text));
      in.setSystemId(null);
      parser.parse(in, handler);
    } catch (LimitException e) {
      throw OvfException.bad(e.getMessage());
    } catch (SAXParseException e) {
      String msg = String.valueOf(e.getMessage());
      if (msg.contains("DOCTYPE") || msg.contains("doctype")) {
        throw OvfException.bad(source + ": line " + e.getLineNumber()
            + ": DOCTYPE declarations are refused (no DTDs or entities, against XXE and entity expansion)");
      }
      throw OvfException.bad(source + ": line " + e.getLineNumber() + ": not well-formed XML: " + msg);
    } catch (SAXException e) {
      throw OvfException.bad(source + ": not well-formed XML: " + e.getMessage());
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("the JDK's SAX parser lacks a security feature", e);
    } catch (IOException e) {
      throw OvfException.bad(source + ": " + e.getMessage());
    }
    if (handler.root == null) {
      throw OvfException.bad(source + ": no root element");
    }
    return handler.root;
  }

  private static SAXParserFactory factory() throws ParserConfigurationException, SAXException {
    SAXParserFactory f = SAXParserFactory.newDefaultNSInstance();
    f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    f.setFeature("http://xml.org/sax/features/external-general-entities", false);
    f.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
    f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    f.setXIncludeAware(false);
    f.setValidating(false);
    return f;
  }

  /** Decodes by byte order mark, UTF-16 zero-byte pattern, UTF-8, or a declared single-byte charset. */
  static String decode(byte[] b, String source) throws OvfException {
    if (b.length >= 3 && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF) {
      return strict(StandardCharsets.UTF_8, b, 3, source);
    }
    if (b.length >= 2 && (b[0] & 0xff) == 0xFE && (b[1] & 0xff) == 0xFF) {
      return strict(StandardCharsets.UTF_16BE, b, 2, source);
    }
    if (b.length >= 2 && (b[0] & 0xff) == 0xFF && (b[1] & 0xff) == 0xFE) {
      return strict(StandardCharsets.UTF_16LE, b, 2, source);
    }
    if (b.length >= 2 && b[0] == 0 && b[1] == '<') {
      return strict(StandardCharsets.UTF_16BE, b, 0, source);
    }
    if (b.length >= 2 && b[0] == '<' && b[1] == 0) {
      return strict(StandardCharsets.UTF_16LE, b, 0, source);
    }
    try {
      return strict(StandardCharsets.UTF_8, b, 0, source);
    } catch (OvfException notUtf8) {
      Charset declared = declaredSingleByteCharset(b);
      if (declared == null) {
        throw notUtf8;
      }
      return new String(b, declared);
    }
  }

  private static Charset declaredSingleByteCharset(byte[] b) {
    String head = new String(b, 0, Math.min(b.length, 200), StandardCharsets.ISO_8859_1);
    Matcher m = DECLARED_ENCODING.matcher(head);
    if (!m.find() || !head.stripLeading().startsWith("<?xml")) {
      return null;
    }
    String name = m.group(1).toUpperCase(Locale.ROOT);
    if (name.startsWith("UTF")) {
      return null;
    }
    try {
      Charset cs = Charset.forName(name);
      return cs.newEncoder().maxBytesPerChar() == 1.0f ? cs : null;
    } catch (IllegalArgumentException unknown) {
      return null;
    }
  }

  private static String strict(Charset cs, byte[] b, int offset, String source) throws OvfException {
    try {
      return cs.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b, offset, b.length - offset)).toString();
    } catch (CharacterCodingException e) {
      throw OvfException.bad(source + ": descriptor is not valid " + cs.name() + " text");
    }
  }

  /** A limit was exceeded; unchecked inside SAX callbacks, turned into an {@link OvfException}. */
  private static final class LimitException extends SAXException {
    private static final long serialVersionUID = 1L;

    LimitException(String message) {
      super(message);
    }
  }

  private static final class Handler extends DefaultHandler {
    private final String source;
    private final Deque<XmlElement> open = new ArrayDeque<>();
    private Locator locator;
    private XmlElement root;
    private int elements;

    Handler(String source) {
      this.source = source;
    }

    @Override
    public void setDocumentLocator(Locator locator) {
      this.locator = locator;
    }

    @Override
    public void startElement(String uri, String localName, String qName, Attributes atts) throws SAXException {
      int line = locator == null ? -1 : locator.getLineNumber();
      if (++elements > MAX_ELEMENTS) {
        throw new LimitException(source + ": more than " + MAX_ELEMENTS + " elements (line " + line + ")");
      }
      if (open.size() >= MAX_DEPTH) {
        throw new LimitException(source + ": elements nested deeper than " + MAX_DEPTH + " (line " + line + ")");
      }
      if (atts.getLength() > MAX_ATTRIBUTES) {
        throw new LimitException(source + ": more than " + MAX_ATTRIBUTES + " attributes on <" + qName + "> (line " + line + ")");
      }
      List<XmlElement.Attribute> list = new ArrayList<>(atts.getLength());
      for (int i = 0; i < atts.getLength(); i++) {
        list.add(new XmlElement.Attribute(atts.getURI(i), atts.getLocalName(i), atts.getValue(i)));
      }
      XmlElement e = new XmlElement(uri, localName, List.copyOf(list), line);
      if (open.isEmpty()) {
        root = e;
      } else {
        open.peek().addChild(e);
      }
      open.push(e);
    }

    @Override
    public void endElement(String uri, String localName, String qName) {
      open.pop();
    }

    @Override
    public void characters(char[] ch, int start, int length) {
      if (!open.isEmpty()) {
        open.peek().appendText(ch, start, length);
      }
    }
  }
}
