package io.vstore.ovf.pkg;

import java.io.IOException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPrivateCrtKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.ECPrivateKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * A private key and its certificate chain that sign a package's manifest ({@code --sign PEM}, a
 * file holding both, as ovftool's {@code --privateKey} takes it). Keys in PKCS#8
 * ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) and SEC1 ({@code EC PRIVATE KEY}) PEM
 * are read; encrypted keys are refused.
 */
public final class PackageSigner {
  private final PrivateKey key;
  private final List<X509Certificate> chain;

  private PackageSigner(PrivateKey key, List<X509Certificate> chain) {
    this.key = key;
    this.chain = List.copyOf(chain);
  }

  /** Reads the key and certificates of PEM file {@code pem}; the first certificate must match the key. */
  public static PackageSigner load(Path pem) throws IOException {
    byte[] bytes = Files.readAllBytes(pem);
    if (bytes.length > PackageSignature.MAX_CERT_FILE) {
      throw new IOException("bad signing key: " + pem + " is larger than " + PackageSignature.MAX_CERT_FILE + " bytes");
    }
    String text = new String(bytes, StandardCharsets.ISO_8859_1);
    PrivateKey key = null;
    Matcher m = PackageSignature.PEM.matcher(text);
    while (m.find()) {
      String type = m.group(1);
      if (type.equals("CERTIFICATE")) {
        continue;
      }
      if (key != null && type.endsWith("PRIVATE KEY")) {
        throw new IOException("bad signing key: " + pem + " holds more than one private key");
      }
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      key = switch (type) {
        case "PRIVATE KEY" -> pkcs8(der, pem);
        case "RSA PRIVATE KEY" -> rsa(der, pem);
        case "EC PRIVATE KEY" -> ec(der, pem);
        case "ENCRYPTED PRIVATE KEY" -> throw new IOException("unsupported signing key: " + pem
            + " holds an encrypted key; decrypt it first (openssl pkey -in KEY -out PLAIN)");
        default -> key;
      };
    }
    if (key == null) {
      throw new IOException("bad signing key: " + pem + " holds no PEM private key");
    }
    List<X509Certificate> chain = PackageSignature.certificates(bytes, pem.toString());
    if (chain.isEmpty()) {
      throw new IOException("bad signing key: " + pem + " holds no certificate (the key and its certificate go in one PEM file)");
    }
    PackageSigner s = new PackageSigner(key, chain);
    // Catch a key and certificate that do not belong together now, not when a reader rejects the package.
    byte[] probe = "vstore".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature v = Signature.getInstance(DigestAlgorithm.SHA256.signatureAlgorithm(key.getAlgorithm()));
      v.initVerify(chain.getFirst().getPublicKey());
      v.update(probe);
      if (!v.verify(s.signature(DigestAlgorithm.SHA256, probe))) {
        throw new IOException("bad signing key: " + pem + ": the private key does not belong to the first certificate ("
            + chain.getFirst().getSubjectX500Principal().getName() + ")");
      }
    } catch (GeneralSecurityException e) {
      throw new IOException("bad signing key: " + pem + ": " + e.getMessage(), e);
    }
    return s;
  }

  private static PrivateKey pkcs8(byte[] der, Path pem) throws IOException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String alg : List.of("RSA", "EC")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(spec);
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IOException("unsupported signing key: " + pem + " is neither an RSA nor an EC key");
  }

  private static PrivateKey rsa(byte[] der, Path pem) throws IOException {
    try {
      org.bouncycastle.asn1.pkcs.RSAPrivateKey k = org.bouncycastle.asn1.pkcs.RSAPrivateKey.getInstance(der);
      return KeyFactory.getInstance("RSA").generatePrivate(new RSAPrivateCrtKeySpec(k.getModulus(), k.getPublicExponent(),
          k.getPrivateExponent(), k.getPrime1(), k.getPrime2(), k.getExponent1(), k.getExponent2(), k.getCoefficient()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("bad signing key: " + pem + ": not a PKCS#1 RSA key: " + e.getMessage(), e);
    }
  }

  private static PrivateKey ec(byte[] der, Path pem) throws IOException {
    try {
      ECPrivateKey k = ECPrivateKey.getInstance(ASN1Sequence.getInstance(der));
      PrivateKeyInfo info = new PrivateKeyInfo(
          new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, k.getParametersObject()), k);
      return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException("bad signing key: " + pem + ": not a SEC1 EC key: " + e.getMessage(), e);
    }
  }

  private byte[] signature(DigestAlgorithm alg, byte[] data) throws IOException {
    try {
      Signature s = Signature.getInstance(alg.signatureAlgorithm(key.getAlgorithm()));
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IOException("signing with " + chain.getFirst().getSubjectX500Principal().getName() + " failed: "
          + e.getMessage(), e);
    }
  }

  /** Returns the certificate file's bytes: the signature line over {@code manifest}, then the chain in PEM. */
  byte[] certificateFile(DigestAlgorithm alg, String manifestName, byte[] manifest) throws IOException {
    return withSignature(alg, manifestName, signature(alg, manifest));
  }

  private byte[] withSignature(DigestAlgorithm alg, String manifestName, byte[] sig) {
    StringBuilder sb = new StringBuilder();
    sb.append(alg.name()).append('(').append(manifestName).append(")= ").append(HexFormat.of().formatHex(sig)).append('\n');
    for (X509Certificate c : chain) {
      sb.append(PackageSignature.pem(c));
    }
    return sb.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** Returns the most bytes {@link #certificateFile} can return (an ECDSA signature's length varies). */
  int maxCertificateFileLength(DigestAlgorithm alg, String manifestName) {
    int sigBytes;
    if (key instanceof RSAKey r) {
      sigBytes = (r.getModulus().bitLength() + 7) / 8;
    } else if (key instanceof ECKey e) {
      int n = (e.getParams().getOrder().bitLength() + 7) / 8 + 1;
      sigBytes = 2 * (n + 2) + 3 + (2 * (n + 2) > 127 ? 1 : 0);
    } else {
      sigBytes = 1024;
    }
    byte[] dummy = new byte[sigBytes];
    Arrays.fill(dummy, (byte) 1);
    return withSignature(alg, manifestName, dummy).length;
  }

  /** Returns the signing certificate's subject. */
  public String subject() {
    return chain.getFirst().getSubjectX500Principal().getName();
  }
}
