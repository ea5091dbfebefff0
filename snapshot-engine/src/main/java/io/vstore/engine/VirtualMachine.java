package io.vstore.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A VM in the inventory: its disks (datastore volumes), an opaque configuration and its snapshot
 * tree.
 *
 * @param name its name
 * @param disks its disks' volume names, in order ({@code NAME-disk0}, {@code NAME-disk1}, ...)
 * @param config the configuration the user gave, kept as is
 * @param created creation time, ISO-8601
 * @param current the snapshot the disks were last captured as or reverted to (the parent of the
 *     next snapshot), or null
 * @param snapshots the snapshot tree's nodes, oldest first
 * @param pending the operation a crash interrupted, or null
 * @param media its media files (ISO and floppy images, NVRAM), in the order they were added (the
 *     inventory file leaves the field out when empty, so a VM without media reads in a vstore that
 *     knows none)
 */
public record VirtualMachine(String name, List<String> disks, JsonNode config, String created, String current,
    List<VmSnapshot> snapshots, Pending pending, List<MediaFile> media) {
  public VirtualMachine {
    Objects.requireNonNull(name, "name");
    disks = List.copyOf(disks == null ? List.of() : disks);
    config = config == null ? JsonNodeFactory.instance.objectNode() : config;
    snapshots = List.copyOf(snapshots == null ? List.of() : snapshots);
    media = List.copyOf(media == null ? List.of() : media);
  }

  /** Returns media file {@code file}, or null. */
  public MediaFile mediaFile(String file) {
    for (MediaFile m : media) {
      if (m.name().equals(file)) {
        return m;
      }
    }
    return null;
  }

  /** Returns snapshot {@code snap}, or null. */
  public VmSnapshot snapshot(String snap) {
    for (VmSnapshot s : snapshots) {
      if (s.name().equals(snap)) {
        return s;
      }
    }
    return null;
  }

  /** Returns the direct children of snapshot {@code snap} (null: the roots), oldest first. */
  public List<VmSnapshot> children(String snap) {
    List<VmSnapshot> out = new ArrayList<>();
    for (VmSnapshot s : snapshots) {
      if (Objects.equals(s.parent(), snap)) {
        out.add(s);
      }
    }
    return out;
  }

  /** Returns this VM with pending operation {@code p} (null: none). */
  VirtualMachine withPending(Pending p) {
    return new VirtualMachine(name, disks, config, created, current, snapshots, p, media);
  }

  /** Returns this VM with current snapshot {@code snap}. */
  VirtualMachine withCurrent(String snap) {
    return new VirtualMachine(name, disks, config, created, snap, snapshots, pending, media);
  }

  /** Returns this VM with snapshot tree {@code list}. */
  VirtualMachine withSnapshots(List<VmSnapshot> list) {
    return new VirtualMachine(name, disks, config, created, current, list, pending, media);
  }

  /** Returns this VM with media files {@code list}. */
  VirtualMachine withMedia(List<MediaFile> list) {
    return new VirtualMachine(name, disks, config, created, current, snapshots, pending, list);
  }
}
