package io.vstore.vdisk;

import java.io.IOException;

/**
 * The steps of closing an image (flush, close the file, close the backing image), each run even
 * when an earlier one failed, so that no file stays open; the first failure is thrown at the end
 * with the later ones suppressed in it.
 */
public final class CloseSteps {
  /** One step of a close. */
  @FunctionalInterface
  public interface Step {
    void run() throws IOException;
  }

  private IOException failure;

  /** Runs {@code step}, remembering its failure; returns this for chaining. */
  public CloseSteps run(Step step) {
    try {
      step.run();
    } catch (IOException e) {
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    return this;
  }

  /** Throws the first failure of the steps run, if any. */
  public void finish() throws IOException {
    if (failure != null) {
      throw failure;
    }
  }
}
