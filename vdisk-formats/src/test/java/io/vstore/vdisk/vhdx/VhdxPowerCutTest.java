package io.vstore.vdisk.vhdx;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.PowerCutScenario;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Power cuts after a flush and further writes: what was flushed survives, the rest reads old or
 * new, check finds no corruption, and the image stays writable. VHDX: data is synced before the bitmaps and BAT entries that expose it, and the headers are updated one slot at a time, so a cut leaves the old BAT or the new one over durable data.
 */
class VhdxPowerCutTest {
  @TempDir Path dir;

  @Test
  void flushedDataSurvivesAPowerCut() throws Exception {
    int rounds = "true".equals(System.getenv("CI")) ? 3 : 6;
    new PowerCutScenario(VhdxFormat::new, "vhdx", CreateOptions.none()).run(dir, rounds);
  }
}
