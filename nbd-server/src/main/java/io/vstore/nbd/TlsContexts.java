package io.vstore.nbd;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** Builds the server's TLS 1.3 context from a PEM certificate chain and a PEM PKCS#8 key. */
public final class TlsContexts {
  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
  /** PEM files are small; anything larger is not a certificate or key. */
  private static final long MAX_PEM_BYTES = 1 << 20;
  private static final String[] KEY_ALGORITHMS = {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"};

  private TlsContexts() {}

  /** Returns a server context using the certificate chain in {@code certPem} and key in {@code keyPem}. */
  public static SSLContext fromPem(Path certPem, Path keyPem) throws IOException {
    List<Certificate> chain = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (byte[] der : blocks(certPem, "CERTIFICATE")) {
        chain.add(cf.generateCertificate(new ByteArrayInputStream(der)));
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("bad certificate: " + certPem + ": " + e.getMessage(), e);
    }
    if (chain.isEmpty()) {
      throw new IOException("bad certificate: " + certPem + " holds no PEM CERTIFICATE block");
    }
    List<byte[]> keys = blocks(keyPem, "PRIVATE KEY");
    if (keys.size() != 1) {
      throw new IOException("bad key: " + keyPem + " must hold exactly one PEM 'PRIVATE KEY' (PKCS#8) block, found "
          + keys.size() + " (convert with: openssl pkcs8 -topk8 -nocrypt)");
    }
    PrivateKey key = privateKey(keys.getFirst(), keyPem);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] password = new char[0];
      ks.setKeyEntry("nbd", key, password, chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      SSLContext context = SSLContext.getInstance("TLSv1.3");
      context.init(kmf.getKeyManagers(), null, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("bad key: " + keyPem + " does not fit certificate " + certPem + ": " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(byte[] der, Path file) throws IOException {
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // Not this algorithm: PKCS#8 names it inside, but trying is simpler than parsing DER.
      }
    }
    throw new IOException("unsupported key: " + file + " is not an RSA, EC or EdDSA PKCS#8 key");
  }

  private static List<byte[]> blocks(Path file, String type) throws IOException {
    if (Files.size(file) > MAX_PEM_BYTES) {
      throw new IOException("bad PEM: " + file + " is larger than " + MAX_PEM_BYTES + " bytes");
    }
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    List<byte[]> out = new ArrayList<>();
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        try {
          out.add(Base64.getMimeDecoder().decode(m.group(2)));
        } catch (IllegalArgumentException e) {
          throw new IOException("bad PEM: " + file + ": " + type + " block is not Base64", e);
        }
      }
    }
    return out;
  }
}
