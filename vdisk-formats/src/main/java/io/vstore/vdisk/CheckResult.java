package io.vstore.vdisk;

import java.util.List;

/**
 * What {@code image check} found, counted as qemu-img counts it.
 *
 * @param path the checked file
 * @param format its format
 * @param corruptions problems that lose or misplace data, each described with structure and offset
 * @param leaks space allocated but unreferenced (harmless), each described
 * @param incomplete whether the file was detected as an interrupted write (for formats that can tell)
 */
public record CheckResult(String path, String format, List<String> corruptions, List<String> leaks, boolean incomplete) {
  public CheckResult {
    corruptions = List.copyOf(corruptions);
    leaks = List.copyOf(leaks);
  }

  /** Returns the exit code qemu-img check would give: 0 clean, 2 corrupt, 3 leaks only. */
  public int exitCode() {
    if (!corruptions.isEmpty() || incomplete) {
      return 2;
    }
    return leaks.isEmpty() ? 0 : 3;
  }
}
