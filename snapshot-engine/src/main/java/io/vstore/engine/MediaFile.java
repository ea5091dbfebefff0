package io.vstore.engine;

import java.util.Objects;
import java.util.Set;

/**
 * A file that belongs to a VM without being one of its disks: an ISO image its CD/DVD drive holds,
 * a floppy image, the firmware's NVRAM. Its bytes are kept in a datastore volume of its own (so
 * they are checksummed, encrypted at rest and counted like every other byte), rounded up to 512
 * bytes; {@code size} says how many of them are the file.
 *
 * @param name the file's name in the VM (unique in it; an OVF export uses it as the href)
 * @param role what it is for: {@value #CDROM}, {@value #FLOPPY} or {@value #NVRAM}
 * @param volume the volume holding its bytes ({@code VM-mediaN})
 * @param size its length in bytes; -1 while it is being written
 * @param sha256 the SHA-256 of its bytes, lower-case hex; null while it is being written
 */
public record MediaFile(String name, String role, String volume, long size, String sha256) {
  /** An ISO image for a CD/DVD drive. */
  public static final String CDROM = "cdrom";
  /** A floppy image. */
  public static final String FLOPPY = "floppy";
  /** The firmware's non-volatile memory (EFI variables). */
  public static final String NVRAM = "nvram";
  /** The roles a media file may have. */
  public static final Set<String> ROLES = Set.of(CDROM, FLOPPY, NVRAM);

  public MediaFile {
    Objects.requireNonNull(name, "name");
  }

  /** Returns whether the file is whole (written and recorded), not one an unfinished add left. */
  public boolean complete() {
    return size >= 0 && sha256 != null;
  }
}
