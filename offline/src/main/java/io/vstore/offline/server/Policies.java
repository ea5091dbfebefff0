package io.vstore.offline.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.AtomicFiles;
import io.vstore.offline.Policy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The check-out policies of one datastore: the global one ({@code checkouts/policy.json}, else
 * {@link Policy#DEFAULT}) and one per VM or pool ({@code checkouts/policy-NAME.json}), which is
 * always combined with the global one by {@link Policy#stricter}, so it can only narrow it.
 */
final class Policies {
  /** The target name of the global policy. */
  static final String GLOBAL = "global";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path dir;

  Policies(Path dir) {
    this.dir = dir;
  }

  /** Returns the policy stored for {@code target} ({@code global}, a VM or a pool), or null. */
  Policy stored(String target) throws IOException {
    Path f = file(target);
    if (!Files.exists(f)) {
      return null;
    }
    try {
      return JSON.readValue(f.toFile(), Policy.class);
    } catch (IOException e) {
      throw new IOException("bad check-out policy " + f + ": " + e.getMessage(), e);
    }
  }

  /** Stores {@code policy} for {@code target}. */
  void store(String target, Policy policy) throws IOException {
    AtomicFiles.replace(file(target), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(policy));
  }

  /** Returns the policy that applies to {@code vm} (in pool {@code pool}, or null): the global one narrowed. */
  Policy effective(String vm, String pool) throws IOException {
    Policy global = stored(GLOBAL);
    Policy p = global == null ? Policy.DEFAULT : global;
    if (pool != null) {
      p = p.stricter(stored(pool));
    }
    return p.stricter(stored(vm));
  }

  private Path file(String target) {
    if (!NAME.matcher(target).matches()) {
      throw new IllegalArgumentException("bad policy target '" + target + "' (global, a VM or a pool name)");
    }
    return dir.resolve(GLOBAL.equals(target) ? "policy.json" : "policy-" + target + ".json");
  }
}
