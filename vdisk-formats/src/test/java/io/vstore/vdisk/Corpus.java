package io.vstore.vdisk;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the shared corpus of real-world images (system property {@code vstore.corpus}). */
public final class Corpus {
  private Corpus() {}

  /** Returns {@code relative} inside the corpus, failing clearly when the corpus is missing. */
  public static Path file(String relative) {
    String root = System.getProperty("vstore.corpus");
    if (root == null) {
      throw new AssertionError("system property vstore.corpus is not set (the parent POM sets it to ../shared/corpus)");
    }
    Path p = Path.of(root).resolve(relative);
    if (!Files.exists(p)) {
      throw new AssertionError("corpus file " + p + " is missing: the shared corpus must sit beside the checkout");
    }
    return p;
  }
}
