package io.vstore.engine;

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
 */
public record DesktopPool(String name, String base, long generation, List<String> replica, long persistentSize,
    long disposableSize, List<Desktop> desktops, String created, Pending pending) {
  public DesktopPool {
    Objects.requireNonNull(name, "name");
    replica = List.copyOf(replica == null ? List.of() : replica);
    desktops = List.copyOf(desktops == null ? List.of() : desktops);
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

  /** Returns this pool with pending operation {@code p} (null: none). */
  DesktopPool withPending(Pending p) {
    return new DesktopPool(name, base, generation, replica, persistentSize, disposableSize, desktops, created, p);
  }
}
