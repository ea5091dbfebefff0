package io.vstore.vdisk;

import java.util.Map;
import java.util.Set;

/**
 * Options for creating an image, as qemu-img's {@code -o key=value,...}: for example
 * {@code subformat=streamOptimized}, {@code compat=1.1}, {@code cluster_size=65536}.
 *
 * @param options the key/value pairs; unknown keys are an error for the format to report
 * @param backingFile a backing/parent file for a differencing image, or null
 * @param backingFormat the backing file's format, or null to detect it
 */
public record CreateOptions(Map<String, String> options, String backingFile, String backingFormat) {
  public CreateOptions {
    options = Map.copyOf(options);
  }

  /** Returns options with nothing set. */
  public static CreateOptions none() {
    return new CreateOptions(Map.of(), null, null);
  }

  /** Throws naming the first option that is not among {@code known} for {@code format}. */
  public void requireKnown(String format, Set<String> known) {
    for (String key : options.keySet()) {
      if (!known.contains(key)) {
        throw new IllegalArgumentException("unknown " + format + " option '" + key + "' (known: " + known + ")");
      }
    }
  }

  /** Returns the value of {@code key}, or {@code fallback} when it is not set. */
  public String get(String key, String fallback) {
    return options.getOrDefault(key, fallback);
  }
}
