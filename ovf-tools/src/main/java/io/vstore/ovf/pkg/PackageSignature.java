package io.vstore.ovf.pkg;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Signature;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A package's certificate file ({@code .cert}) as ovftool writes it: a line
 * {@code SHA256(package.mf)= <hex signature of the manifest's bytes>} followed by the signer's
 * X.509 certificate and its chain in PEM. Verifying checks the signature with the first
 * certificate's key, each certificate's signature by the next, and the chain against the trusted
 * certificates with the JDK's PKIX validator.
 */
final class PackageSignature {
  /** Largest certificate file read. */
  static final int MAX_CERT_FILE = 1 << 20;
  private static final Pattern SIGNATURE_LINE =
      Pattern.compile("(?m)^\\s*([A-Za-z0-9]+) ?\\((.+)\\) ?= ?([0-9A-Fa-f]+)\\s*$");
  static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1-----");

  private PackageSignature() {}

  /** Verifies certificate file {@code cert} (named {@code certName}) over manifest {@code manifest}. */
  static SignatureCheck verify(String pkg, String certName, byte[] cert, String manifestName, byte[] manifest,
      SignaturePolicy policy) throws PackageException {
    String where = "bad signature: " + pkg + ": " + certName + ": ";
    if (cert.length > MAX_CERT_FILE) {
      throw new PackageException(where + cert.length + " bytes, more than " + MAX_CERT_FILE);
    }
    String text = new String(cert, StandardCharsets.US_ASCII);
    Matcher m = SIGNATURE_LINE.matcher(text);
    if (!m.find()) {
      throw new PackageException(where + "no 'SHA256(manifest)= signature' line");
    }
    DigestAlgorithm alg = DigestAlgorithm.byManifestName(m.group(1).toUpperCase(java.util.Locale.ROOT));
    if (alg == null) {
      throw new PackageException(where + "unsupported digest '" + PackageNames.printable(m.group(1)) + "'");
    }
    String signed = m.group(2).startsWith("./") ? m.group(2).substring(2) : m.group(2);
    if (!signed.equals(manifestName)) {
      throw new PackageException(where + "signs '" + PackageNames.printable(signed) + "', but the manifest is '"
          + manifestName + "'");
    }
    if (m.group(3).length() % 2 != 0) {
      throw new PackageException(where + "the signature has an odd number of hex digits");
    }
    byte[] sig = HexFormat.of().parseHex(m.group(3));
    List<X509Certificate> chain = certificates(cert, pkg + ": " + certName);
    if (chain.isEmpty()) {
      throw new PackageException(where + "no PEM certificate follows the signature");
    }
    X509Certificate signer = chain.getFirst();
    String subject = signer.getSubjectX500Principal().getName();
    try {
      Signature s = Signature.getInstance(alg.signatureAlgorithm(signer.getPublicKey().getAlgorithm()));
      s.initVerify(signer.getPublicKey());
      s.update(manifest);
      if (!s.verify(sig)) {
        throw new PackageException(where + "the " + alg + " signature does not match manifest " + manifestName
            + " (signer " + subject + "): the manifest was changed or signed by another key");
      }
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new PackageException(where + "cannot check the signature with " + subject + "'s key: " + e.getMessage(), e);
    }
    for (int i = 0; i + 1 < chain.size(); i++) {
      try {
        chain.get(i).verify(chain.get(i + 1).getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new PackageException(where + "certificate " + (i + 1) + " (" + chain.get(i).getSubjectX500Principal().getName()
            + ") is not signed by the next one (" + chain.get(i + 1).getSubjectX500Principal().getName() + ")", e);
      }
    }
    String why = untrustedReason(chain, policy);
    if (why == null) {
      return new SignatureCheck(SignatureCheck.Status.TRUSTED, subject, "signed by " + subject + " (trusted)");
    }
    return new SignatureCheck(SignatureCheck.Status.UNTRUSTED, subject, "signed by " + subject + ", not trusted: " + why);
  }

  /** Returns why the chain is not trusted under {@code policy}, or null when it is. */
  private static String untrustedReason(List<X509Certificate> chain, SignaturePolicy policy) {
    Set<TrustAnchor> anchors = new HashSet<>();
    Set<X509Certificate> trusted = new HashSet<>(policy.trusted());
    for (X509Certificate c : policy.trusted()) {
      anchors.add(new TrustAnchor(c, null));
    }
    if (policy.systemTrust()) {
      anchors.addAll(systemAnchors());
    }
    // The path PKIX checks ends before the first certificate that is itself an anchor.
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : chain) {
      if (trusted.contains(c)) {
        if (path.isEmpty()) {
          try {
            c.checkValidity();
            return null;
          } catch (CertificateException e) {
            return "the trusted signing certificate is not valid now: " + e.getMessage();
          }
        }
        break;
      }
      path.add(c);
    }
    if (anchors.isEmpty()) {
      return "no trusted certificates given (--trust)";
    }
    try {
      CertPath cp = SignaturePolicy.x509().generateCertPath(path);
      PKIXParameters params = new PKIXParameters(anchors);
      params.setRevocationEnabled(false);
      CertPathValidator.getInstance("PKIX").validate(cp, params);
      return null;
    } catch (CertPathValidatorException e) {
      return e.getMessage();
    } catch (GeneralSecurityException e) {
      return e.getMessage();
    }
  }

  private static Set<TrustAnchor> systemAnchors() {
    Path cacerts = Path.of(System.getProperty("java.home"), "lib", "security", "cacerts");
    Set<TrustAnchor> out = new HashSet<>();
    if (!Files.isReadable(cacerts)) {
      return out;
    }
    try (var in = Files.newInputStream(cacerts)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(in, null);
      for (String alias : java.util.Collections.list(ks.aliases())) {
        if (ks.getCertificate(alias) instanceof X509Certificate x) {
          out.add(new TrustAnchor(x, null));
        }
      }
    } catch (IOException | GeneralSecurityException e) {
      // Without the system store only --trust certificates anchor chains; that is stated in the result.
    }
    return out;
  }

  /** Returns the certificates of the PEM {@code CERTIFICATE} blocks in {@code bytes}, or of DER bytes. */
  static List<X509Certificate> certificates(byte[] bytes, String where) throws PackageException {
    if (bytes.length > MAX_CERT_FILE) {
      throw new PackageException("bad certificate: " + where + ": more than " + MAX_CERT_FILE + " bytes");
    }
    List<X509Certificate> out = new ArrayList<>();
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    Matcher m = PEM.matcher(text);
    boolean anyPem = false;
    while (m.find()) {
      anyPem = true;
      if (!m.group(1).equals("CERTIFICATE")) {
        continue;
      }
      out.add(certificate(Base64.getMimeDecoder().decode(m.group(2)), where));
    }
    if (!anyPem && bytes.length > 0 && bytes[0] == 0x30) {
      out.add(certificate(bytes, where));
    }
    return out;
  }

  private static X509Certificate certificate(byte[] der, String where) throws PackageException {
    try {
      return (X509Certificate) SignaturePolicy.x509().generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException | IllegalArgumentException e) {
      throw new PackageException("bad certificate: " + where + ": " + e.getMessage(), e);
    }
  }

  /** Returns {@code cert} as a PEM block. */
  static String pem(X509Certificate cert) {
    try {
      return "-----BEGIN CERTIFICATE-----\n"
          + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded())
          + "\n-----END CERTIFICATE-----\n";
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }
}
