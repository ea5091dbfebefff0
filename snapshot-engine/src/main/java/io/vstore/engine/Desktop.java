package io.vstore.engine;

import java.util.List;

/**
 * One desktop of a pool.
 *
 * @param name its name ({@code POOL-N})
 * @param systemDisks linked clones of the replica's snapshot, one per base disk
 * @param persistentDisk its data disk that survives recompose and refresh, or null
 * @param disposableDisk its scratch disk emptied at refresh, or null
 */
public record Desktop(String name, List<String> systemDisks, String persistentDisk, String disposableDisk) {
  public Desktop {
    systemDisks = List.copyOf(systemDisks == null ? List.of() : systemDisks);
  }

  /** Returns every volume of this desktop. */
  public List<String> volumes() {
    List<String> out = new java.util.ArrayList<>(systemDisks);
    if (persistentDisk != null) {
      out.add(persistentDisk);
    }
    if (disposableDisk != null) {
      out.add(disposableDisk);
    }
    return out;
  }
}
