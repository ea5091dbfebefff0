package io.vstore.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The check-out part of the AOT cache's training run: an offline check-out and check-in over HTTPS
 * against the training's daemon, so that the cache holds the classes a check-out loads (Jetty's
 * client, the JDK's TLS client, Argon2id, the encrypted datastore, the offline client): about 2,400
 * classes that every {@code vstore checkout} otherwise loaded and verified from the jar, on the way
 * to a {@code --stream} check-out's first NBD read. Best effort: a cache without them is still a
 * good one, so a failure here is reported and the build goes on.
 */
final class CheckoutTraining {
  private static final String STORE_PASSWORD = "training";

  private final Path dir;
  private final Path cert;
  private final Path key;
  private final int port;

  private CheckoutTraining(Path dir, Path cert, Path key, int port) {
    this.dir = dir;
    this.cert = cert;
    this.key = key;
    this.port = port;
  }

  /**
   * Makes a self-signed certificate for 127.0.0.1 in {@code dir} (with the JDK's keytool: the JDK
   * has no API that signs certificates) and picks a free port; returns null, having said why, when
   * that fails.
   */
  static CheckoutTraining prepare(Path dir) {
    try {
      Path store = dir.resolve("training.p12");
      Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
          "-genkeypair", "-alias", "t", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
          "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
          "-keystore", store.toString(), "-storepass", STORE_PASSWORD, "-keypass", STORE_PASSWORD)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!keytool.waitFor(120, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
        keytool.destroyForcibly();
        return skipped("keytool could not make a certificate");
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        ks.load(in, STORE_PASSWORD.toCharArray());
      }
      Path cert = Files.writeString(dir.resolve("training-cert.pem"),
          pem("CERTIFICATE", ks.getCertificate("t").getEncoded()));
      Path key = Files.writeString(dir.resolve("training-key.pem"),
          pem("PRIVATE KEY", ((PrivateKey) ks.getKey("t", STORE_PASSWORD.toCharArray())).getEncoded()));
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      }
      return new CheckoutTraining(dir, cert, key, port);
    } catch (IOException | GeneralSecurityException e) {
      return skipped(e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return skipped("interrupted");
    }
  }

  private static CheckoutTraining skipped(String why) {
    System.err.println("vstore training: " + why + "; the AOT cache lacks the check-out path");
    return null;
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  /** Returns the options that make the daemon serve the API over HTTPS for this training. */
  List<String> daemonOptions() {
    return List.of("--listen", "127.0.0.1:" + port, "--tls-cert", cert.toString(), "--tls-key", key.toString());
  }

  /**
   * Checks a small VM of datastore {@code ds} (served by the running daemon) out into a directory
   * and checks it in again; {@code image} is written into its disk first.
   */
  void run(Path ds, Path image) throws InterruptedException {
    if (!awaitListener()) {
      skipped("the daemon's HTTPS listener did not come up");
      return;
    }
    String d = ds.toString();
    Path pass;
    String token;
    try {
      pass = Files.writeString(dir.resolve("training-pass"), "training passphrase\n");
      StringWriter out = new StringWriter();
      int status = Vstore.run(new String[] {"token", "create", "-D", d, "training", "--scope", "write", "--json"},
          new PrintWriter(out), new PrintWriter(new StringWriter()));
      if (status != 0) {
        skipped("'token create' failed with status " + status);
        return;
      }
      token = new ObjectMapper().readTree(out.toString()).path("token").asText();
    } catch (IOException e) {
      skipped(e.toString());
      return;
    }
    String copy = dir.resolve("offline-copy").toString();
    String server = "https://127.0.0.1:" + port;
    for (List<String> c : List.of(List.of("vm", "create", "-D", d, "co1", "--disk", "4M"),
        List.of("volume", "write", "-D", d, "co1-disk0", "0", image.toString()),
        List.of("checkout", "co1", "--server", server, "--token", token, "--ca-cert", cert.toString(), "--to", copy,
            "--passphrase-file", pass.toString(), "--json"),
        List.of("checkin", copy, "--token", token, "--passphrase-file", pass.toString(), "--json"))) {
      int status = Vstore.run(c.toArray(String[]::new), new PrintWriter(new StringWriter()),
          new PrintWriter(new StringWriter()));
      if (status != 0) {
        skipped("'" + c.get(0) + " " + c.get(1) + "' failed with status " + status);
        return;
      }
    }
  }

  private boolean awaitListener() throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
        return true;
      } catch (IOException notYet) {
        Thread.sleep(50);
      }
    }
    return false;
  }
}
