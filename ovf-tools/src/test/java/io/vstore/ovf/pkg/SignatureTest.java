package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.vdisk.QemuTool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Signing with {@code --sign PEM} and checking with {@link SignaturePolicy}: keys and certificates
 * made by openssl as ovftool's documentation makes them, and openssl checks vstore's signatures.
 */
class SignatureTest {
  @TempDir
  static Path keys;

  @TempDir
  Path dir;

  private static Path rsa;
  private static Path ec;
  private static Path rsaCert;
  private static Path other;

  @BeforeAll
  static void makeKeys() throws Exception {
    assumeTrue(PeerToolsTest.onPath("openssl"), "openssl is not installed (CI installs it)");
    rsa = keys.resolve("rsa.pem");
    // ovftool's recipe: key and self-signed certificate in one PEM file.
    QemuTool.ok("openssl", "req", "-x509", "-nodes", "-sha256", "-days", "30", "-newkey", "rsa:2048", "-subj", "/CN=vstore test",
        "-keyout", rsa.toString(), "-out", keys.resolve("rsa.crt").toString());
    rsaCert = keys.resolve("rsa.crt");
    Files.writeString(rsa, Files.readString(rsa) + Files.readString(rsaCert));
    Path ecKey = keys.resolve("ec.key");
    QemuTool.ok("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ecKey.toString());
    QemuTool.ok("openssl", "req", "-x509", "-new", "-key", ecKey.toString(), "-sha256", "-days", "30", "-subj", "/CN=vstore ec",
        "-out", keys.resolve("ec.crt").toString());
    ec = keys.resolve("ec.pem");
    Files.writeString(ec, Files.readString(ecKey) + Files.readString(keys.resolve("ec.crt")));
    other = keys.resolve("other.crt");
    QemuTool.ok("openssl", "req", "-x509", "-nodes", "-days", "30", "-newkey", "rsa:2048", "-subj", "/CN=someone else",
        "-keyout", keys.resolve("other.key").toString(), "-out", other.toString());
  }

  private Path signedOva(Path key, DigestAlgorithm alg) throws IOException {
    Path ova = dir.resolve("signed.ova");
    MemoryBlockDevice d = Packages.disk("d", 1 << 20, 5);
    OvaWriter.write(ova, "vm.ovf", Packages::descriptor, List.of(new OvaWriter.Disk("f1", "d.vmdk", d, null)),
        new OvaWriter.Options(alg, PackageSigner.load(key), 0, false), x -> { });
    return ova;
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"rsa, SHA256", "rsa, SHA1", "rsa, SHA512", "ec, SHA256", "ec, SHA512"})
  void aSignedOvaVerifiesAndIsTrustedWhenItsCertificateIs(String keyKind, String digest) throws Exception {
    Path key = keyKind.equals("rsa") ? rsa : ec;
    Path ova = signedOva(key, DigestAlgorithm.valueOf(digest));
    Path crt = keys.resolve(keyKind + ".crt");
    String listing = QemuTool.ok("tar", "tf", ova.toString());
    assertThat(listing.strip().split("\n")).containsExactly("vm.ovf", "vm.mf", "vm.cert", "d.vmdk");
    try (OvfPackage pkg = OvfPackage.open(ova, SignaturePolicy.of(true, List.of(crt)))) {
      assertThat(pkg.signature().status()).isEqualTo(SignatureCheck.Status.TRUSTED);
      assertThat(pkg.signature().signer()).contains("vstore");
    }
    try (OvfPackage pkg = OvfPackage.open(Files.newInputStream(ova), "stdin", SignaturePolicy.DEFAULT)) {
      assertThat(pkg.signature().status()).isEqualTo(SignatureCheck.Status.UNTRUSTED);
      assertThat(pkg.warnings()).singleElement().asString().contains("not trusted");
    }
  }

  @Test
  void opensslVerifiesTheSignatureVstoreWrote() throws Exception {
    Path ova = signedOva(rsa, DigestAlgorithm.SHA256);
    Path x = Files.createDirectory(dir.resolve("x"));
    QemuTool.ok("tar", "-C", x.toString(), "-xf", ova.toString());
    String cert = Files.readString(x.resolve("vm.cert"));
    String first = cert.substring(0, cert.indexOf('\n'));
    assertThat(first).startsWith("SHA256(vm.mf)= ");
    Files.write(x.resolve("sig.bin"), HexFormat.of().parseHex(first.substring(first.indexOf("= ") + 2)));
    QemuTool.ok("openssl", "x509", "-in", x.resolve("vm.cert").toString(), "-pubkey", "-noout", "-out",
        x.resolve("pub.pem").toString());
    String out = QemuTool.ok("openssl", "dgst", "-sha256", "-verify", x.resolve("pub.pem").toString(), "-signature",
        x.resolve("sig.bin").toString(), x.resolve("vm.mf").toString());
    assertThat(out).contains("Verified OK");
  }

  @Test
  void aSignatureOpensslMadeVerifies() throws Exception {
    // A package signed the way ovftool does it, by hand with openssl: the reader must accept it.
    Path p = Files.createDirectory(dir.resolve("p"));
    byte[] ovf = "<Envelope/>".getBytes(StandardCharsets.UTF_8);
    Files.write(p.resolve("vm.ovf"), ovf);
    Files.writeString(p.resolve("vm.mf"), Packages.sha256Line("vm.ovf", ovf));
    QemuTool.ok("openssl", "dgst", "-sha256", "-sign", rsa.toString(), "-out", p.resolve("sig").toString(),
        p.resolve("vm.mf").toString());
    String hex = HexFormat.of().formatHex(Files.readAllBytes(p.resolve("sig")));
    Files.writeString(p.resolve("vm.cert"), "SHA256(vm.mf)= " + hex + "\n" + Files.readString(rsaCert));
    Files.delete(p.resolve("sig"));
    try (OvfPackage pkg = OvfPackage.open(p.resolve("vm.ovf"), SignaturePolicy.of(true, List.of(rsaCert)))) {
      assertThat(pkg.signature().status()).isEqualTo(SignatureCheck.Status.TRUSTED);
    }
  }

  @Test
  void aChangedManifestBreaksTheSignature() throws Exception {
    Path ova = signedOva(rsa, DigestAlgorithm.SHA256);
    byte[] b = Files.readAllBytes(ova);
    String s = new String(b, StandardCharsets.ISO_8859_1);
    int at = s.indexOf("SHA256(d.vmdk)= ") + "SHA256(d.vmdk)= ".length();
    b[at] = (byte) (b[at] == '0' ? '1' : '0');
    Files.write(ova, b);
    assertThatThrownBy(() -> OvfPackage.open(ova, SignaturePolicy.DEFAULT)).isInstanceOf(PackageException.class)
        .hasMessageStartingWith("bad signature: ").hasMessageContaining("does not match manifest vm.mf");
  }

  @Test
  void requireSignatureRefusesUnsignedAndUntrustedPackages() throws Exception {
    Path ova = signedOva(rsa, DigestAlgorithm.SHA256);
    assertThatThrownBy(() -> OvfPackage.open(ova, SignaturePolicy.of(true, List.of(other))))
        .isInstanceOf(PackageException.class).hasMessageStartingWith("untrusted signature: ");
    Path unsigned = dir.resolve("unsigned.ova");
    OvaWriter.write(unsigned, "vm.ovf", Packages::descriptor, List.of(new OvaWriter.Bytes("f", "a.txt", new byte[] {1})),
        OvaWriter.Options.DEFAULT, x -> { });
    assertThatThrownBy(() -> OvfPackage.open(unsigned, SignaturePolicy.of(true, List.of(rsaCert))))
        .isInstanceOf(PackageException.class).hasMessageStartingWith("unsigned package: ");
    try (OvfPackage pkg = OvfPackage.open(unsigned, SignaturePolicy.DEFAULT)) {
      assertThat(pkg.signature().status()).isEqualTo(SignatureCheck.Status.UNSIGNED);
    }
  }

  @Test
  void aPkcs1RsaKeySignsToo() throws Exception {
    // Older openssl (and 'openssl rsa -traditional') write "BEGIN RSA PRIVATE KEY".
    Path pkcs1 = dir.resolve("pkcs1.pem");
    QemuTool.ok("openssl", "rsa", "-in", rsa.toString(), "-traditional", "-out", pkcs1.toString());
    assertThat(Files.readString(pkcs1)).contains("BEGIN RSA PRIVATE KEY");
    Files.writeString(pkcs1, Files.readString(pkcs1) + Files.readString(rsaCert));
    Path ova = signedOva(pkcs1, DigestAlgorithm.SHA256);
    try (OvfPackage pkg = OvfPackage.open(ova, SignaturePolicy.of(true, List.of(rsaCert)))) {
      assertThat(pkg.signature().status()).isEqualTo(SignatureCheck.Status.TRUSTED);
    }
  }

  @Test
  void anEncryptedKeyIsRefusedWithTheWayOut() throws Exception {
    Path enc = dir.resolve("enc.pem");
    QemuTool.ok("openssl", "pkcs8", "-topk8", "-in", rsa.toString(), "-passout", "pass:secret", "-out", enc.toString());
    Files.writeString(enc, Files.readString(enc) + Files.readString(rsaCert));
    assertThatThrownBy(() -> PackageSigner.load(enc)).isInstanceOf(IOException.class)
        .hasMessageContaining("encrypted key").hasMessageContaining("openssl pkey");
  }

  @Test
  void aKeyThatDoesNotMatchItsCertificateIsRefusedWhenLoaded() throws Exception {
    Path mixed = dir.resolve("mixed.pem");
    String key = Files.readString(rsa);
    Files.writeString(mixed, key.substring(0, key.indexOf("-----BEGIN CERTIFICATE")) + Files.readString(other));
    assertThatThrownBy(() -> PackageSigner.load(mixed)).isInstanceOf(IOException.class)
        .hasMessageContaining("does not belong to the first certificate");
  }
}
