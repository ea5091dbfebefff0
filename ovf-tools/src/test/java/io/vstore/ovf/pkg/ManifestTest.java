package io.vstore.ovf.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Manifest lines in every spelling tools write, and the errors for what is not a manifest. */
class ManifestTest {
  private static final String H1 = "a".repeat(40);
  private static final String H256 = "0123456789abcdef".repeat(4);
  private static final String H512 = "F".repeat(128);

  private static Manifest parse(String text) throws PackageException {
    return Manifest.parse("t.mf", text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsOvftoolAndCoreutilsSpellingsWithCrlfAndMixedAlgorithms() throws PackageException {
    Manifest m = parse("\uFEFFSHA256(vm.ovf)= " + H256 + "\r\nSHA1 (disk 1.vmdk) = " + H1 + "\r\n\r\nSHA512(sub/x.iso)=" + H512
        + "\n");
    assertThat(m.entries()).containsOnlyKeys("vm.ovf", "disk 1.vmdk", "sub/x.iso");
    assertThat(m.entry("disk 1.vmdk").algorithm()).isEqualTo(DigestAlgorithm.SHA1);
    assertThat(m.entry("sub/x.iso").hex()).isEqualTo(H512.toLowerCase());
    assertThat(m.entry("vm.ovf").algorithm()).isEqualTo(DigestAlgorithm.SHA256);
  }

  @Test
  void writesWhatItReads() throws PackageException {
    Manifest m = parse("SHA256 (a) = " + H256 + "\nSHA1(b)= " + H1 + "\n");
    assertThat(new String(m.toBytes(), StandardCharsets.UTF_8)).isEqualTo("SHA256(a)= " + H256 + "\nSHA1(b)= " + H1 + "\n");
    assertThat(Manifest.parse("again", m.toBytes()).entries()).isEqualTo(m.entries());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', value = {
      "SHA256 vm.ovf " + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + "|line 1: not 'ALGORITHM(file)= digest'",
      "MD5(vm.ovf)= 0123456789abcdef0123456789abcdef|unsupported digest 'MD5'",
      "SHA256(vm.ovf)= abc|has 3 hex digits, not 64",
      "SHA1(../etc/passwd)= " + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "|leaves the package",
      "SHA1(/etc/passwd)= " + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "|is an absolute path",
      "''|lists no files",
  })
  void refusesWhatIsNotADigestLine(String text, String message) {
    assertThatThrownBy(() -> parse(text)).isInstanceOf(PackageException.class).hasMessageContaining(message)
        .hasMessageStartingWith("bad ");
  }

  @Test
  void refusesAFileListedTwice() {
    assertThatThrownBy(() -> parse("SHA1(a)= " + H1 + "\nSHA256(a)= " + H256 + "\n"))
        .isInstanceOf(PackageException.class).hasMessageContaining("line 2").hasMessageContaining("listed twice");
  }

  @Test
  void refusesAnOversizedManifest() {
    byte[] big = new byte[Manifest.MAX_SIZE + 1];
    assertThatThrownBy(() -> Manifest.parse("big.mf", big)).isInstanceOf(PackageException.class)
        .hasMessageContaining("more than " + Manifest.MAX_SIZE);
  }
}
