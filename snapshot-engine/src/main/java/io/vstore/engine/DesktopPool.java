package io.vstore.engine;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A linked-clone desktop pool: a replica of a base VM snapshot and desktops whose system disks
 * are linked clones of the replica's snapshot.
 *
 * @param name its name
 * @param base the base it was built from, {@code VM@SNAP}
 * @param generation bumped by every recompose; part of the replica's volume names
 * @param replica the replica's volumes, one per base disk, each a linked clone of the base disk's
 *     snapshot with one snapshot {@value DesktopPools#REPLICA_SNAPSHOT} the desktops are cloned from
 * @param persistentSize size of each desktop's persistent disk, 0 for none
 * @param disposableSize size of each desktop's disposable disk, 0 for none
 * @param desktops the desktops
 * @param created creation time, ISO-8601
 * @param pending the operation a crash interrupted, or null
 * @param datastores the datastore directories its desktops may live in ({@code pool set --datastores},
 *     used by {@code pool rebalance}); empty: only the datastore whose inventory holds the pool (left
 *     out of the file and the JSON then, so inventories without it read as before)
 */
public record DesktopPool(String name, String base, long generation, List<String> replica, long persistentSize,
    long disposableSize, List<Desktop> desktops, String created, Pending pending,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> datastores) {
  public DesktopPool {
    Objects.requireNonNull(name, "name");
    replica = List.copyOf(replica == null ? List.of() : replica);
    desktops = List.copyOf(desktops == null ? List.of() : desktops);
    datastores = List.copyOf(datastores == null ? List.of() : datastores);
  }

  /** Returns desktop {@code desktop}, or null. */
  public Desktop desktop(String desktop) {
    for (Desktop d : desktops) {
      if (d.name().equals(desktop)) {
        return d;
      }
    }
    return null;
  }

  /** Returns every volume of the pool: the desktops' disks, then the replica. */
  public List<String> volumes() {
    List<String> out = new ArrayList<>();
    for (Desktop d : desktops) {
      out.addAll(d.volumes());
    }
    out.addAll(replica);
    return out;
  }

  /** Returns the volumes of the pool in the datastore whose inventory holds it: its own desktops' disks, then the replica. */
  public List<String> localVolumes() {
    List<String> out = new ArrayList<>();
    for (Desktop d : desktops) {
      if (d.datastore() == null) {
        out.addAll(d.volumes());
      }
    }
    out.addAll(replica);
    return out;
  }

  /** Returns this pool with pending operation {@code p} (null: none). */
  DesktopPool withPending(Pending p) {
    return new DesktopPool(name, base, generation, replica, persistentSize, disposableSize, desktops, created, p,
        datastores);
  }

  /** Returns this pool with desktops {@code list}. */
  DesktopPool withDesktops(List<Desktop> list) {
    return new DesktopPool(name, base, generation, replica, persistentSize, disposableSize, list, created, pending,
        datastores);
  }

  /** Returns this pool allowed in datastores {@code dirs} (empty: its own only). */
  DesktopPool withDatastores(List<String> dirs) {
    return new DesktopPool(name, base, generation, replica, persistentSize, disposableSize, desktops, created, pending,
        dirs);
  }

  /** Returns whether every desktop lives in the datastore whose inventory holds the pool. */
  public boolean atHome() {
    return desktops.stream().allMatch(d -> d.datastore() == null);
  }
}
