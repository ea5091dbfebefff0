package io.vstore.ovf;

import io.vstore.engine.MediaFile;
import io.vstore.engine.VirtualMachine;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides which of a VM's media files an export writes and which device holds each: a drive or
 * the NVRAM keeps the media file it names; a file no device names (added with {@code vstore vm
 * media add}) goes into the first empty drive of its kind, or a new one (a CD/DVD drive on an IDE
 * controller, added when the VM has none). Each media file gets the File id it goes out under:
 * the id its drive or the NVRAM came with from a package, so that a re-import maps to the same
 * configuration, else {@code media-NAME}.
 */
final class ExportMedia {
  private static final String NVRAM_KEY = "nvram";
  private static final String FILE_PREFIX = "ovf:/file/";

  private ExportMedia() {}

  /**
   * Returns {@code c} with its drives and NVRAM naming only media files of {@code vm} (none when
   * {@code vm} is null) and every complete media file of it attached; fills {@code ids} (media
   * name → File id) in the order the files go into the package.
   */
  static VmConfiguration attach(VirtualMachine vm, VmConfiguration c, Map<String, String> ids, List<String> warnings) {
    Set<String> present = new LinkedHashSet<>();
    if (vm != null) {
      vm.media().stream().filter(MediaFile::complete).forEach(m -> present.add(m.name()));
    }
    List<VmConfiguration.CdDrive> cds = new ArrayList<>();
    for (VmConfiguration.CdDrive cd : c.cdDrives()) {
      cds.add(cd.media() != null && !present.contains(cd.media()) ? cd.withMedia(null) : cd);
    }
    List<VmConfiguration.FloppyDrive> floppies = new ArrayList<>();
    for (VmConfiguration.FloppyDrive f : c.floppies()) {
      floppies.add(f.media() != null && !present.contains(f.media()) ? f.withMedia(null) : f);
    }
    String nvram = c.nvram() != null && present.contains(c.nvram()) ? c.nvram() : null;
    String extraNvram = c.extraConfig().get(NVRAM_KEY);
    if (nvram == null && extraNvram != null && extraNvram.startsWith(FILE_PREFIX)) {
      warnings.add("VM " + c.name() + ": its NVRAM file (" + extraNvram + ") is not among its media files; the"
          + " descriptor leaves it out");
    }
    List<VmConfiguration.Controller> controllers = new ArrayList<>(c.controllers());
    Set<String> attached = new HashSet<>();
    cds.forEach(cd -> attached.add(cd.media()));
    floppies.forEach(f -> attached.add(f.media()));
    attached.add(nvram);
    for (String name : present) {
      if (attached.contains(name)) {
        continue;
      }
      MediaFile m = vm.mediaFile(name);
      switch (m.role()) {
        case MediaFile.CDROM -> attachCd(cds, controllers, c.disks(), name);
        case MediaFile.FLOPPY -> {
          int i = indexOfEmptyFloppy(floppies);
          if (i >= 0) {
            floppies.set(i, floppies.get(i).withMedia(name));
          } else {
            floppies.add(new VmConfiguration.FloppyDrive(floppies.size(), null, name));
          }
        }
        case MediaFile.NVRAM -> {
          if (nvram == null) {
            nvram = name;
          } else {
            warnings.add("VM " + c.name() + " has two NVRAM files (" + nvram + ", " + name + "): " + name + " is left out");
            continue;
          }
        }
        default -> {
          warnings.add("VM " + c.name() + ": media file " + name + " has unknown role " + m.role() + ": left out");
          continue;
        }
      }
      attached.add(name);
    }
    // Package order: drives first, then floppies, then the NVRAM (ovftool's order); ids from the package when known.
    Set<String> used = new HashSet<>();
    for (VmConfiguration.CdDrive cd : cds) {
      if (cd.media() != null) {
        put(ids, used, cd.media(), cd.imageFile());
      }
    }
    for (VmConfiguration.FloppyDrive f : floppies) {
      if (f.media() != null) {
        put(ids, used, f.media(), f.imageFile());
      }
    }
    if (nvram != null) {
      put(ids, used, nvram, extraNvram != null && extraNvram.startsWith(FILE_PREFIX)
          ? extraNvram.substring(FILE_PREFIX.length()) : null);
    }
    VmConfiguration out = c.withMedia(cds, floppies, nvram);
    return controllers.size() == c.controllers().size() ? out : out.withDisks(controllers, c.disks());
  }

  /** Returns the {@code ovf:/file/ID} an NVRAM ExtraConfig carries for media file {@code id}. */
  static String nvramReference(String id) {
    return FILE_PREFIX + id;
  }

  /** Returns whether {@code value} of ExtraConfig {@code key} names an NVRAM file of the package. */
  static boolean isNvramReference(String key, String value) {
    return NVRAM_KEY.equals(key) && value != null && value.startsWith(FILE_PREFIX);
  }

  /** Returns the ExtraConfig key VMware names the NVRAM file with. */
  static String nvramKey() {
    return NVRAM_KEY;
  }

  private static void put(Map<String, String> ids, Set<String> used, String media, String packageId) {
    if (ids.containsKey(media)) {
      return;
    }
    String id = packageId != null && !packageId.startsWith("file-") && used.add(packageId) ? packageId : null;
    for (int n = 1; id == null; n++) {
      String candidate = n == 1 ? "media-" + media : "media-" + media + "-" + n;
      id = used.add(candidate) ? candidate : null;
    }
    ids.put(media, id);
  }

  private static int indexOfEmptyFloppy(List<VmConfiguration.FloppyDrive> floppies) {
    for (int i = 0; i < floppies.size(); i++) {
      if (floppies.get(i).media() == null && floppies.get(i).imageFile() == null) {
        return i;
      }
    }
    return -1;
  }

  /** Puts ISO {@code name} into the first empty CD/DVD drive, or a new DVD drive on an IDE controller. */
  private static void attachCd(List<VmConfiguration.CdDrive> cds, List<VmConfiguration.Controller> controllers,
      List<VmConfiguration.DiskDrive> disks, String name) {
    for (int i = 0; i < cds.size(); i++) {
      VmConfiguration.CdDrive cd = cds.get(i);
      if (cd.media() == null && cd.imageFile() == null && cd.imageDisk() == null) {
        cds.set(i, cd.withMedia(name));
        return;
      }
    }
    VmConfiguration.Controller ide = controllers.stream().filter(k -> k.type().equals("ide")).findFirst().orElse(null);
    if (ide == null) {
      Set<String> ids = new HashSet<>();
      controllers.forEach(k -> ids.add(k.id()));
      int id = 200;
      while (ids.contains(Integer.toString(id))) {
        id++;
      }
      ide = new VmConfiguration.Controller(Integer.toString(id), "ide", null, 0);
      controllers.add(ide);
    }
    String controller = ide.id();
    Set<Integer> units = new HashSet<>();
    disks.stream().filter(d -> controller.equals(d.controller())).forEach(d -> units.add(d.unit()));
    cds.stream().filter(d -> controller.equals(d.controller())).forEach(d -> units.add(d.unit()));
    int unit = 0;
    while (units.contains(unit)) {
      unit++;
    }
    cds.add(new VmConfiguration.CdDrive(controller, unit, null, null, true, name));
  }
}
