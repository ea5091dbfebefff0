package io.vstore.nbd.client;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** Builds the client's TLS 1.3 context trusting the CA certificates of one PEM file. */
public final class ClientTls {
  /** PEM files are small; anything larger is not a certificate bundle. */
  private static final long MAX_PEM_BYTES = 1 << 20;

  private ClientTls() {}

  /** Returns a context that trusts exactly the certificates in {@code caPem} (server name checked). */
  public static SSLContext trusting(Path caPem) throws IOException {
    if (Files.size(caPem) > MAX_PEM_BYTES) {
      throw new IOException("bad CA certificate: " + caPem + " is larger than " + MAX_PEM_BYTES + " bytes");
    }
    try {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(caPem)));
      if (certs.isEmpty()) {
        throw new IOException("bad CA certificate: " + caPem + " holds no PEM CERTIFICATE block");
      }
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        ks.setCertificateEntry("ca" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(null, tmf.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("bad CA certificate: " + caPem + ": " + e.getMessage(), e);
    }
  }
}
