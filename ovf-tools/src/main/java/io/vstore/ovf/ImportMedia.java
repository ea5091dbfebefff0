package io.vstore.ovf;

import io.vstore.engine.Inventory;
import io.vstore.engine.MediaFile;
import io.vstore.ovf.pkg.PackageFile;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * The import's media files: which package files are ISO, floppy or NVRAM images of which VM, under
 * what name each is kept ({@link io.vstore.engine.VmMedia}), and storing them as the package
 * delivers them. A media file is named after its href's file name, so an export writes it back
 * under the same name.
 */
final class ImportMedia {
  /** One media file to store: VM {@code vm}'s file {@code name} with role {@code role}. */
  private record MediaTarget(String vm, String name, String role) {}

  private final Inventory inventory;
  private final OvfDescriptor descriptor;
  private final List<String> warnings;
  /** File id → the media files it becomes (one per VM that holds it), in plan order. */
  private final Map<String, List<MediaTarget>> mediaByFile = new LinkedHashMap<>();

  ImportMedia(Inventory inventory, OvfDescriptor descriptor, List<String> warnings) {
    this.inventory = inventory;
    this.descriptor = descriptor;
    this.warnings = warnings;
  }

  /** Returns whether package file {@code fileId} becomes media files. */
  boolean holds(String fileId) {
    return mediaByFile.containsKey(fileId);
  }

  /** Returns the bytes the media files will take, as far as the descriptor's sizes tell. */
  long totalBytes() {
    long total = 0;
    for (Map.Entry<String, List<MediaTarget>> e : mediaByFile.entrySet()) {
      Long size = descriptor.file(e.getKey()).orElseThrow().size();
      total += size == null ? 0 : size * e.getValue().size();
    }
    return total;
  }

  /**
   * Returns {@code c} with its CD/DVD drives, floppies and NVRAM naming the media files VM {@code vm}
   * will hold, and plans storing each: an ISO given as a File or as a Disk with a file, a floppy
   * image, the file an {@code nvram} ExtraConfig names ({@code ovf:/file/ID}). A file held twice by one
   * VM is one media file.
   */
  VmConfiguration plan(String vm, VmConfiguration c) throws OvfException {
    Map<String, String> names = new HashMap<>();
    Set<String> taken = new HashSet<>();
    List<VmConfiguration.CdDrive> cds = new ArrayList<>();
    for (VmConfiguration.CdDrive cd : c.cdDrives()) {
      String file = cd.imageFile() != null ? cd.imageFile()
          : cd.imageDisk() != null ? descriptor.disk(cd.imageDisk()).orElseThrow().fileRef() : null;
      cds.add(file == null ? cd : cd.withMedia(mediaName(vm, file, MediaFile.CDROM, names, taken)));
    }
    List<VmConfiguration.FloppyDrive> floppies = new ArrayList<>();
    for (VmConfiguration.FloppyDrive f : c.floppies()) {
      floppies.add(f.imageFile() == null ? f : f.withMedia(mediaName(vm, f.imageFile(), MediaFile.FLOPPY, names, taken)));
    }
    String nvram = null;
    String ref = c.extraConfig().get(ExportMedia.nvramKey());
    if (ExportMedia.isNvramReference(ExportMedia.nvramKey(), ref)) {
      String id = ref.substring(ExportMedia.nvramReference("").length());
      if (descriptor.file(id).isPresent()) {
        nvram = mediaName(vm, id, MediaFile.NVRAM, names, taken);
      } else {
        warnings.add("VM " + vm + ": ExtraConfig nvram names file " + id + ", which References does not list; no NVRAM"
            + " is imported");
      }
    }
    return c.withMedia(cds, floppies, nvram);
  }

  /** Returns the media file name of file {@code fileId} in VM {@code vm}: its href's file name, made safe and unique. */
  private String mediaName(String vm, String fileId, String role, Map<String, String> names, Set<String> taken) {
    String known = names.get(fileId);
    if (known != null) {
      return known;
    }
    String href = descriptor.file(fileId).orElseThrow().href();
    StringBuilder b = new StringBuilder();
    for (char ch : href.substring(href.lastIndexOf('/') + 1).toCharArray()) {
      b.append(Character.isLetterOrDigit(ch) && ch < 128 || ch == '.' || ch == '_' || ch == '-' ? ch : '_');
    }
    while (!b.isEmpty() && !Character.isLetterOrDigit(b.charAt(0))) {
      b.deleteCharAt(0);
    }
    String base = b.isEmpty() ? role : b.length() > 120 ? b.substring(0, 120) : b.toString();
    String name = base;
    for (int n = 2; !taken.add(name); n++) {
      name = n + "-" + base;
    }
    names.put(fileId, name);
    mediaByFile.computeIfAbsent(fileId, k -> new ArrayList<>()).add(new MediaTarget(vm, name, role));
    return name;
  }

  /**
   * Stores package file {@code f} as the media files {@code targets} (streamed into the first VM's,
   * copied from there into the others'); a file whose length is not its {@code ovf:size} is refused.
   */
  long store(PackageFile f, List<String> created, LongConsumer progress) throws IOException {
    List<MediaTarget> targets = mediaByFile.get(f.ref().id());
    FileReference ref = descriptor.file(f.ref().id()).orElseThrow();
    long total = 0;
    MediaTarget first = null;
    for (MediaTarget m : targets) {
      if (!created.contains(m.vm())) {
        throw OvfException.unsupported("file " + ref.href() + " (media of VM " + m.vm() + ") comes before the disks that"
            + " the package's delta disks are deltas of; its VM cannot be made yet");
      }
      MediaFile stored;
      if (first == null) {
        long hint = ref.compression() == null && ref.size() != null ? ref.size() : -1;
        try (InputStream in = f.stream()) {
          stored = inventory.media().add(m.vm(), m.name(), m.role(), in, hint, progress);
        }
        total = stored.size();
        if (hint >= 0 && stored.size() != hint) {
          throw OvfException.bad("file " + ref.href() + " (" + m.role() + " image of VM " + m.vm() + ") holds "
              + stored.size() + " bytes but its ovf:size says " + hint + ": truncated or padded");
        }
        first = m;
      } else {
        try (InputStream in = inventory.media().open(first.vm(), first.name())) {
          inventory.media().add(m.vm(), m.name(), m.role(), in, total, x -> {});
        }
      }
    }
    return total * targets.size();
  }
}
