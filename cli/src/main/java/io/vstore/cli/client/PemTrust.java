package io.vstore.cli.client;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;

/** Builds a trust store from the certificates of a PEM file ({@code --ca-cert}). */
final class PemTrust {
  private PemTrust() {}

  /** Returns a key store trusting every certificate in {@code pem}; fails naming the file if it holds none. */
  static KeyStore load(Path pem) throws IOException {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (certs.isEmpty()) {
        throw new IOException("bad certificate file " + pem + ": no PEM certificate in it");
      }
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      return store;
    } catch (GeneralSecurityException e) {
      throw new IOException("bad certificate file " + pem + ": " + e.getMessage(), e);
    }
  }
}
