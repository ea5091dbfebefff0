package io.vstore.server.exports;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.nbd.ChangedAreas;
import io.vstore.nbd.Export;
import io.vstore.nbd.MetaContextSource;
import io.vstore.nbd.MetaContexts;
import io.vstore.vdisk.ImageFormats;
import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An export built from a spec, with the device it opened: the one way both {@code vstore nbd serve}
 * and the daemon turn {@code VOLUME}, {@code VOLUME@SNAP} or an image file into an NBD export.
 * Closing it flushes and closes the device (remove the export from its registry first).
 *
 * @param export the export to add to a registry
 * @param source what the spec named
 */
public record OpenedExport(Export export, ExportSource source) implements Closeable {

  /** Supplies the datastore for volume and snapshot specs, opened only when one is needed. */
  @FunctionalInterface
  public interface DatastoreSupplier {
    /** Returns the datastore volumes are opened from. */
    Datastore get() throws IOException;
  }

  /** Checks that both parts are there. */
  public OpenedExport {
    Objects.requireNonNull(export, "export");
    Objects.requireNonNull(source, "source");
  }

  /**
   * Opens what {@code source} names and builds its export.
   *
   * @param name the export name clients ask for
   * @param readOnly whether to refuse writes (a snapshot is read-only anyway)
   * @param dirtyBitmaps change ids to offer as {@code qemu:dirty-bitmap:CHANGEID} contexts; each is
   *     checked now, and they need a volume or snapshot
   * @param datastore where volumes come from; not called for image files
   * @throws IllegalArgumentException if dirty bitmaps are asked of an image file
   */
  public static OpenedExport open(String name, ExportSource source, boolean readOnly, List<String> dirtyBitmaps,
      DatastoreSupplier datastore) throws IOException {
    return switch (source) {
      case ExportSource.DeviceSource d ->
          throw new IllegalArgumentException("export " + name + " of " + d.spec() + " is opened by its owner, not from a spec");
      case ExportSource.ImageFileSource file -> {
        if (!dirtyBitmaps.isEmpty()) {
          throw new IllegalArgumentException("dirty bitmaps need a volume or snapshot export, not '" + file.spec() + "'");
        }
        BlockDevice device = ImageFormats.open(file.path(), readOnly);
        try {
          yield new OpenedExport(new Export(name, file.spec(), device, readOnly || device.isReadOnly(), List.of()),
              source);
        } catch (RuntimeException e) {
          device.close();
          throw e;
        }
      }
      case ExportSource.VolumeSource volume -> {
        Datastore ds = datastore.get();
        String spec = volume.spec();
        // Checks every change id before opening anything, with the datastore's own message.
        for (String since : dirtyBitmaps) {
          ds.changedAreas(spec, since, 0, 0);
        }
        BlockDevice device = ds.volume(spec, readOnly);
        try {
          List<MetaContextSource> contexts = new ArrayList<>();
          for (String since : dirtyBitmaps) {
            contexts.add(MetaContexts.dirtyBitmap(since, device.size(), (offset, length) -> {
              List<ChangedAreas.Area> areas = new ArrayList<>();
              for (Extent e : ds.changedAreas(spec, since, offset, length).extents()) {
                areas.add(new ChangedAreas.Area(e.offset(), e.length()));
              }
              return areas;
            }));
          }
          yield new OpenedExport(new Export(name, spec, device, readOnly || device.isReadOnly(), contexts), source);
        } catch (RuntimeException e) {
          device.close();
          throw e;
        }
      }
    };
  }

  /** Returns the opened device. */
  public BlockDevice device() {
    return export.device();
  }

  /** Flushes the device if it was writable, then closes it. */
  @Override
  public void close() throws IOException {
    try (BlockDevice device = export.device()) {
      if (!device.isReadOnly()) {
        device.flush();
      }
    }
  }
}
