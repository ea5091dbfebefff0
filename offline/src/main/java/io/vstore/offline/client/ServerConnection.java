package io.vstore.offline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.OutputStreamRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The client's HTTP(S) connection to the daemon's API: bearer token, TLS 1.3 only, and with a
 * {@code --ca-cert} PEM the certificates in it are trusted instead of the system's. Errors the
 * daemon reports come back as {@link ServerException}s carrying its one-line message.
 */
final class ServerConnection implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long TIMEOUT_SECONDS = 600;
  private final HttpClient http;
  private final String base;
  private final String token;

  ServerConnection(String url, String token, String caPem) throws IOException {
    if (!url.startsWith("https://") && !url.startsWith("http://")) {
      throw new IllegalArgumentException("server " + url + " must be an https:// URL");
    }
    this.base = url.replaceAll("/+$", "");
    this.token = token;
    http = new HttpClient();
    http.setName("vstore-offline");
    http.setMaxConnectionsPerDestination(64);
    SslContextFactory.Client tls = new SslContextFactory.Client();
    tls.setIncludeProtocols("TLSv1.3");
    if (caPem != null) {
      tls.setTrustStore(trust(caPem));
    }
    http.setSslContextFactory(tls);
    try {
      http.start();
    } catch (Exception e) {
      throw new IOException("cannot start the HTTP client: " + e.getMessage(), e);
    }
  }

  private static KeyStore trust(String pem) throws IOException {
    try {
      var certs = CertificateFactory.getInstance("X.509")
          .generateCertificates(new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
      if (certs.isEmpty()) {
        throw new IOException("bad CA certificate: no PEM certificate in it");
      }
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      return store;
    } catch (GeneralSecurityException e) {
      throw new IOException("bad CA certificate: " + e.getMessage(), e);
    }
  }

  /** Reads a PEM file's text, or returns null for a null path. */
  static String readPem(Path file) throws IOException {
    return file == null ? null : Files.readString(file, StandardCharsets.US_ASCII);
  }

  /** Sends {@code body} (null: none) as JSON and returns the JSON reply. */
  JsonNode call(String method, String path, Object body) throws IOException {
    Request req = request(method, path);
    if (body != null) {
      req.body(new BytesRequestContent("application/json", JSON.writeValueAsBytes(body)));
    }
    ContentResponse r;
    try {
      r = req.send();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for " + base, e);
    } catch (ExecutionException | TimeoutException e) {
      throw unreachable(e);
    }
    if (r.getStatus() >= 400) {
      throw problem(r.getStatus(), r.getContentAsString());
    }
    String text = r.getContentAsString();
    return text == null || text.isEmpty() ? null : JSON.readTree(text);
  }

  /** Sends a GET and returns the reply body as a stream. */
  InputStream get(String path) throws IOException {
    InputStreamResponseListener listener = new InputStreamResponseListener();
    request("GET", path).timeout(0, TimeUnit.SECONDS).send(listener);
    return body(listener);
  }

  /** What writes a request body. */
  @FunctionalInterface
  interface BodyWriter {
    void write(OutputStream out) throws IOException;
  }

  /** POSTs the bytes {@code writer} produces (streamed) and returns the JSON reply. */
  JsonNode upload(String path, BodyWriter writer) throws IOException {
    OutputStreamRequestContent content = new OutputStreamRequestContent("application/octet-stream");
    InputStreamResponseListener listener = new InputStreamResponseListener();
    request("POST", path).timeout(0, TimeUnit.SECONDS).body(content).send(listener);
    try (OutputStream out = content.getOutputStream()) {
      writer.write(out);
    } catch (IOException e) {
      // the server may have refused early (a 409 before reading the body): its answer says why
      try (InputStream in = body(listener)) {
        in.readAllBytes();
      } catch (ServerException refused) {
        throw refused;
      } catch (IOException ignored) {
        // no answer: report the write failure
      }
      throw e;
    }
    try (InputStream in = body(listener)) {
      return JSON.readTree(in);
    }
  }

  private InputStream body(InputStreamResponseListener listener) throws IOException {
    Response r;
    try {
      r = listener.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for " + base, e);
    } catch (ExecutionException | TimeoutException e) {
      throw unreachable(e);
    }
    InputStream in = listener.getInputStream();
    if (r.getStatus() >= 400) {
      try (in) {
        throw problem(r.getStatus(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    return in;
  }

  private Request request(String method, String path) {
    Request req = http.newRequest(base + path).method(HttpMethod.fromString(method))
        .timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    if (token != null) {
      req.headers(h -> h.put("Authorization", "Bearer " + token));
    }
    return req;
  }

  private IOException unreachable(Exception e) {
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    if (cause instanceof ServerException se) {
      return se;
    }
    return new IOException("cannot reach the server at " + base + ": " + cause.getMessage(), cause);
  }

  private ServerException problem(int status, String text) {
    String detail = null;
    try {
      JsonNode p = JSON.readTree(text);
      if (p != null && p.hasNonNull("detail")) {
        detail = p.get("detail").asText();
      }
    } catch (IOException e) {
      // not a problem document
    }
    if (status == 401) {
      return new ServerException(status, "the server at " + base + " refused the token"
          + (detail != null ? ": " + detail : " (revoked or unknown)"));
    }
    return new ServerException(status, detail != null ? detail : "the server at " + base + " answered HTTP " + status);
  }

  @Override
  public void close() throws IOException {
    try {
      http.stop();
    } catch (Exception e) {
      throw new IOException("cannot stop the HTTP client: " + e.getMessage(), e);
    }
  }

  /** A refusal by the server, with its one-line reason. */
  static final class ServerException extends IOException {
    private final int status;

    ServerException(int status, String message) {
      super(message);
      this.status = status;
    }

    int status() {
      return status;
    }
  }
}
