package io.vstore.ovf.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * What a reader demands of a package's certificate ({@code --require-signature}, {@code --trust PEM}).
 * A present certificate is always checked: a bad signature over the manifest or a broken chain is
 * an error whatever the policy. A valid signature whose chain ends at none of {@code trusted} (nor,
 * when {@code systemTrust}, at the JDK's CA certificates) is reported as untrusted, and refused only
 * when {@code requireSignature}.
 *
 * @param requireSignature refuse a package that is unsigned or signed by an untrusted chain
 * @param trusted certificates that anchor a chain ({@code --trust})
 * @param systemTrust also accept chains ending at the JDK's CA certificates
 */
public record SignaturePolicy(boolean requireSignature, List<X509Certificate> trusted, boolean systemTrust) {

  /** No demands: signatures are verified when present, untrusted chains only warned about. */
  public static final SignaturePolicy DEFAULT = new SignaturePolicy(false, List.of(), true);

  /** Copies the list. */
  public SignaturePolicy {
    trusted = List.copyOf(trusted);
  }

  /** Returns a policy trusting the certificates in the PEM files {@code trustPems}. */
  public static SignaturePolicy of(boolean requireSignature, List<Path> trustPems) throws IOException {
    List<X509Certificate> certs = new ArrayList<>();
    for (Path p : trustPems) {
      List<X509Certificate> in = readCertificates(p);
      if (in.isEmpty()) {
        throw new IOException("bad certificate file: " + p + " holds no PEM certificate");
      }
      certs.addAll(in);
    }
    return new SignaturePolicy(requireSignature, certs, true);
  }

  /** Reads every certificate of a PEM (or DER) file. */
  static List<X509Certificate> readCertificates(Path p) throws IOException {
    try (InputStream in = Files.newInputStream(p)) {
      return PackageSignature.certificates(in.readNBytes(PackageSignature.MAX_CERT_FILE + 1), p.toString());
    }
  }

  static CertificateFactory x509() {
    try {
      return CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException("the JDK lacks X.509", e);
    }
  }
}
