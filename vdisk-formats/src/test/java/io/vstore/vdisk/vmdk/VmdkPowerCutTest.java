package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.PowerCutScenario;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts after a flush and further writes: what was flushed survives, the rest reads old or
 * new, check finds no corruption, and the image stays writable. VMDK (monolithicSparse): a grain's data is written before the grain table entry that points at it, and a flush syncs both.
 */
class VmdkPowerCutTest {
  @TempDir Path dir;

  @Test
  void flushedDataSurvivesAPowerCut() throws Exception {
    int rounds = "true".equals(System.getenv("CI")) ? 3 : 6;
    new PowerCutScenario(VmdkFormat::new, "vmdk", CreateOptions.none()).run(dir, rounds);
  }
}
