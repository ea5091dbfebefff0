package io.vstore.ovf.pkg;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Arbitrary bytes as a manifest: a {@link Manifest} that writes back what it read, or a {@link PackageException}. */
class ManifestFuzzTest {

  @FuzzTest(maxDuration = "10s")
  void anyBytesAreAManifestOrABadManifest(byte[] input) {
    Manifest m;
    try {
      m = Manifest.parse("fuzz.mf", input);
    } catch (PackageException expected) {
      return;
    }
    Manifest again;
    try {
      again = Manifest.parse("again.mf", m.toBytes());
    } catch (PackageException e) {
      throw new AssertionError("a manifest it read does not read back: " + e.getMessage(), e);
    }
    if (!again.entries().equals(m.entries())) {
      throw new AssertionError("a manifest read back differs: " + m.entries() + " vs " + again.entries());
    }
  }
}
