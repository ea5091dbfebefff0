package io.vstore.ovf;

/**
 * One {@code DiskSection/Disk}: its id, capacity exact to the byte, the populated size when given,
 * the id of the file holding its content ({@code null} for an empty disk to create: no attribute or
 * {@code ovf:fileRef=""}), the format URI, and the id of the disk it is a delta of ({@code null}
 * for a base disk).
 */
public record VirtualDisk(String id, long capacityBytes, Long populatedBytes, String fileRef, String format, String parentRef) {
  /** Returns the subformat after {@code #} in the format URI ({@code streamOptimized}), or the URI. */
  public String formatName() {
    if (format == null) {
      return null;
    }
    int hash = format.lastIndexOf('#');
    if (hash >= 0 && hash < format.length() - 1) {
      String sub = format.substring(hash + 1);
      return format.contains("vmdk") ? "vmdk/" + sub : sub;
    }
    return format;
  }
}
