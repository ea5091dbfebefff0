package io.vstore.server.exports;

import io.vstore.blockstore.SnapshotRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What an export spec names: a volume or snapshot of a datastore ({@code VOLUME},
 * {@code VOLUME@SNAP}) or a disk image file of any supported format.
 */
public sealed interface ExportSource {

  /** Returns the export name used when none is given: the volume, snapshot or file name. */
  String defaultName();

  /** Returns the spec as it is stored and shown (a file as its absolute path). */
  String spec();

  /**
   * A volume head or snapshot.
   *
   * @param ref the volume, or the volume and snapshot
   */
  record VolumeSource(SnapshotRef ref) implements ExportSource {
    /** Checks that the reference is there. */
    public VolumeSource {
      Objects.requireNonNull(ref, "ref");
    }

    @Override
    public String defaultName() {
      return ref.toString();
    }

    @Override
    public String spec() {
      return ref.toString();
    }
  }

  /**
   * A disk image file (VMDK, VHD, VHDX, qcow2, VDI or raw).
   *
   * @param path the file, absolute
   */
  record ImageFileSource(Path path) implements ExportSource {
    /** Checks that the path is absolute and normalizes it. */
    public ImageFileSource {
      if (!path.isAbsolute()) {
        throw new IllegalArgumentException("image file " + path + " must be an absolute path");
      }
      path = path.normalize();
    }

    @Override
    public String defaultName() {
      return path.getFileName() == null ? path.toString() : path.getFileName().toString();
    }

    @Override
    public String spec() {
      return path.toString();
    }
  }

  /**
   * A device its owner opened and added itself (a backup point mounted, say): not made from a spec,
   * so never read back from {@code exports.json}.
   *
   * @param spec what the export serves, as shown
   * @param kind the kind shown for it, such as {@code backup-point}
   */
  record DeviceSource(String spec, String kind) implements ExportSource {
    /** Checks that both parts are there. */
    public DeviceSource {
      Objects.requireNonNull(spec, "spec");
      Objects.requireNonNull(kind, "kind");
    }

    @Override
    public String defaultName() {
      return spec;
    }
  }

  /**
   * Parses {@code spec}: a path (anything with a '/', or the name of an existing file in
   * {@code cwd}) is an image file, anything else {@code VOLUME} or {@code VOLUME@SNAP}.
   *
   * @param cwd the directory relative paths are resolved against, or null to accept only absolute
   *     paths (the daemon: its working directory means nothing to its clients)
   */
  static ExportSource parse(String spec, Path cwd) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("empty export spec");
    }
    if (spec.contains("/") || (cwd != null && Files.isRegularFile(cwd.resolve(spec)))) {
      Path file = Path.of(spec);
      if (!file.isAbsolute()) {
        if (cwd == null) {
          throw new IllegalArgumentException("image file " + spec + " must be an absolute path");
        }
        file = cwd.resolve(file).toAbsolutePath();
      }
      return new ImageFileSource(file);
    }
    return new VolumeSource(SnapshotRef.parse(spec));
  }
}
