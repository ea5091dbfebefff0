package io.vstore.vdisk.vdi;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.PowerCutScenario;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts after a flush and further writes: what was flushed survives, the rest reads old or
 * new, check finds no corruption, and the image stays writable. VDI: a new block is written whole and the block map only at flush, so a cut leaves the old map (the half-written block is unreferenced).
 */
class VdiPowerCutTest {
  @TempDir Path dir;

  @Test
  void flushedDataSurvivesAPowerCut() throws Exception {
    int rounds = "true".equals(System.getenv("CI")) ? 3 : 6;
    new PowerCutScenario(VdiFormat::new, "vdi", CreateOptions.none()).run(dir, rounds);
  }
}
