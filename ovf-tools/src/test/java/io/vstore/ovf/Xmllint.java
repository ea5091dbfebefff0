package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/** Runs {@code xmllint --nonet --schema} against the vendored DMTF schemas; skips (naming the package) without it. */
final class Xmllint {
  private Xmllint() {}

  static void assumeInstalled() {
    Assumptions.assumeTrue(installed(), "xmllint is not installed (Debian package libxml2-utils; .ci/run installs it)");
  }

  /** Returns whether xmllint is on the PATH. */
  static boolean installed() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
      if (Files.isExecutable(Path.of(dir, "xmllint"))) {
        return true;
      }
    }
    return false;
  }

  static Path schemaDir() {
    try {
      return Path.of(Xmllint.class.getResource("/ovf-schema/catalog.xml").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new AssertionError(e);
    }
  }

  /** Asserts that {@code descriptor} validates against the envelope schema of {@code version}. */
  static void assertValid(Path descriptor, OvfVersion version) throws IOException, InterruptedException {
    Path dir = schemaDir();
    String schema = version == OvfVersion.V2 ? "dsp8023_2.0.1.xsd" : "dsp8023_1.1.1.xsd";
    ProcessBuilder pb = new ProcessBuilder(List.of("xmllint", "--noout", "--nonet", "--schema",
        dir.resolve(schema).toString(), descriptor.toString())).redirectErrorStream(true);
    pb.environment().put("XML_CATALOG_FILES", dir.resolve("catalog.xml").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    assertThat(rc).as("xmllint on %s (%s):%n%s", descriptor, schema, out).isZero();
  }
}
