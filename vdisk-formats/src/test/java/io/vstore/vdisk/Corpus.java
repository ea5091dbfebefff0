package io.vstore.vdisk;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.junit.jupiter.api.Assumptions;

/**
 * Locates the shared corpus of real-world images, which lives outside the repository: the system
 * property {@value #PROPERTY}, else the environment variable {@value #ENV}, else the build's default
 * (system property {@value #DEFAULT_PROPERTY}, set by the parent POM to {@code ../shared/corpus}
 * beside the checkout). A test that needs an absent corpus is skipped, naming the variable, so a bare
 * clone builds; a file missing from a corpus that is present fails the test.
 */
public final class Corpus {
  /** System property naming the corpus directory; wins over the environment. */
  public static final String PROPERTY = "vstore.corpus";
  /** Environment variable naming the corpus directory. */
  public static final String ENV = "VSTORE_CORPUS";
  /** System property holding the build's default location, used when neither of the above is set. */
  public static final String DEFAULT_PROPERTY = "vstore.corpus.default";

  private Corpus() {}

  /** Returns the corpus directory, skipping the calling test when it is absent. */
  public static Path root() {
    String where = firstSet(System.getProperty(PROPERTY), System.getenv(ENV), System.getProperty(DEFAULT_PROPERTY));
    Path dir = where == null ? null : Path.of(where);
    Assumptions.assumeTrue(dir != null && Files.isDirectory(dir),
        () -> "corpus not found" + (dir == null ? "" : " at " + dir) + ": set " + ENV + " or -D" + PROPERTY
            + " (CI sets it)");
    return dir;
  }

  private static String firstSet(String... values) {
    for (String v : values) {
      if (v != null && !v.isBlank()) {
        return v;
      }
    }
    return null;
  }

  /** Returns {@code relative} inside the corpus: skips when the corpus is absent, fails when the file is. */
  public static Path file(String relative) {
    Path p = root().resolve(relative);
    if (!Files.exists(p)) {
      throw new AssertionError("corpus file " + p + " is missing from the corpus at " + root());
    }
    return p;
  }

  /** Decompresses the bzip2 file {@code source} to {@code target} and returns {@code target}. */
  public static Path bunzip2(Path source, Path target) throws IOException {
    try (InputStream in = new BZip2CompressorInputStream(Files.newInputStream(source))) {
      Files.copy(in, target);
    }
    return target;
  }
}
