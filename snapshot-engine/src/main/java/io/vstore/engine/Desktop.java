package io.vstore.engine;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One desktop of a pool.
 *
 * @param name its name ({@code POOL-N})
 * @param systemDisks linked clones of the replica's snapshot, one per base disk
 * @param persistentDisk its data disk that survives recompose and refresh, or null
 * @param disposableDisk its scratch disk emptied at refresh, or null
 * @param datastore the directory of the datastore its disks live in when {@code pool rebalance} moved
 *     it out of the pool's own, else null (and left out of the file and the JSON)
 */
public record Desktop(String name, List<String> systemDisks, String persistentDisk, String disposableDisk,
    @JsonInclude(JsonInclude.Include.NON_NULL) String datastore) {
  public Desktop {
    systemDisks = List.copyOf(systemDisks == null ? List.of() : systemDisks);
  }

  /** Returns this desktop living in datastore {@code dir} (null: the pool's own). */
  public Desktop in(String dir) {
    return new Desktop(name, systemDisks, persistentDisk, disposableDisk, dir);
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
