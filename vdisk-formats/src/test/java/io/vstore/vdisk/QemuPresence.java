package io.vstore.vdisk;

import java.io.IOException;
import org.junit.jupiter.api.Assumptions;

/** Skips a test class, with a visible reason, when the qemu-img it checks against is not installed. */
public final class QemuPresence {
  private QemuPresence() {}

  /** Aborts the calling test (reported as skipped, with the reason) unless {@code qemu-img} runs. */
  public static void assumeQemuImg() throws InterruptedException {
    boolean present;
    try {
      present = QemuTool.run("qemu-img", "--version").exitCode() == 0;
    } catch (IOException e) {
      present = false;
    }
    Assumptions.assumeTrue(present, "qemu-img is not installed (apt-get install qemu-utils): interop test skipped");
  }
}
