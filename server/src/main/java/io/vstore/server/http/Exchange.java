package io.vstore.server.http;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.vstore.server.auth.Principal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Fields;

/** One request and its response, as a route handler sees them. */
public final class Exchange {
  /** The largest request body the API accepts. */
  public static final int MAX_BODY = 1 << 20;
  /** JSON as the API writes and reads it: unknown fields and wrong types are errors. */
  public static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
      .findAndRegisterModules();

  private final Request request;
  private final Response response;
  private final Principal principal;
  private final Map<String, String> params;
  private Fields query;
  private boolean responded;

  Exchange(Request request, Response response, Principal principal, Map<String, String> params) {
    this.request = request;
    this.response = response;
    this.principal = principal;
    this.params = params;
  }

  /** Returns who made the request. */
  public Principal principal() {
    return principal;
  }

  /** Returns the Jetty request, for what this class does not cover (headers, cookies). */
  public Request request() {
    return request;
  }

  /** Returns the Jetty response, for what this class does not cover (headers, cookies). */
  public Response response() {
    return response;
  }

  /** Returns path parameter {@code name} of the route's pattern. */
  public String path(String name) {
    String v = params.get(name);
    if (v == null) {
      throw new IllegalStateException("route has no path parameter " + name);
    }
    return v;
  }

  /** Returns query parameter {@code name}, or null. */
  public String query(String name) {
    if (query == null) {
      query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    }
    return query.getValue(name);
  }

  /** Returns request header {@code name}, or null. */
  public String header(String name) {
    return request.getHeaders().get(name);
  }

  /** Reads the JSON body as {@code type}; a body over 1 MiB is a 413, malformed JSON or wrong types a 400. */
  public <T> T body(Class<T> type) throws IOException {
    return JSON.readValue(bodyBytes(), type);
  }

  /** Reads the JSON body as a tree. */
  public JsonNode bodyTree() throws IOException {
    byte[] bytes = bodyBytes();
    return bytes.length == 0 ? JSON.createObjectNode() : JSON.readTree(bytes);
  }

  private byte[] bodyBytes() throws IOException {
    long declared = request.getLength();
    if (declared > MAX_BODY) {
      throw new ApiException(413, "request body of " + declared + " bytes is over the limit of " + MAX_BODY);
    }
    String type = header(HttpHeader.CONTENT_TYPE.asString());
    if (declared > 0 && (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json"))) {
      throw new ApiException(415, "request body must be application/json, not " + type);
    }
    try (InputStream in = Content.Source.asInputStream(request)) {
      byte[] bytes = in.readNBytes(MAX_BODY + 1);
      if (bytes.length > MAX_BODY) {
        throw new ApiException(413, "request body is over the limit of " + MAX_BODY + " bytes");
      }
      return bytes;
    }
  }

  /** Responds with {@code status} and {@code value} as JSON. */
  public void json(int status, Object value) throws IOException {
    send(status, "application/json", JSON.writeValueAsBytes(value));
  }

  /** Responds 204 No Content. */
  public void noContent() throws IOException {
    send(204, null, new byte[0]);
  }

  /** Responds with a problem document. */
  public void problem(int status, String detail) throws IOException {
    send(status, Problems.MEDIA_TYPE, JSON.writeValueAsBytes(Problems.body(status, detail)));
  }

  /** Responds with {@code status}, {@code contentType} and {@code body}. */
  public void send(int status, String contentType, byte[] body) throws IOException {
    try (OutputStream out = stream(status, contentType, body.length)) {
      out.write(body);
    }
  }

  /**
   * Starts a response of {@code status} whose body is {@code length} bytes and returns its body stream.
   * A known length spares the client chunked decoding (slow in Python's http.client for megabytes).
   */
  public OutputStream stream(int status, String contentType, long length) {
    OutputStream out = stream(status, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, length);
    return out;
  }

  /** Starts a response of {@code status} and returns its body stream (for event streams and downloads). */
  public OutputStream stream(int status, String contentType) {
    if (responded) {
      throw new IllegalStateException("response already started");
    }
    responded = true;
    response.setStatus(status);
    if (contentType != null) {
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    }
    response.getHeaders().put("Cache-Control", "no-store");
    return Content.Sink.asOutputStream(response);
  }

  /** Returns whether a response has been started. */
  boolean responded() {
    return responded;
  }
}
