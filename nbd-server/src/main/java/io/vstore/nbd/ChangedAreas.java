package io.vstore.nbd;

import java.io.IOException;
import java.util.List;

/**
 * The byte ranges written since a change id: what changed-block tracking answers, and what the
 * {@code qemu:dirty-bitmap:<change id>} metadata context serves.
 */
@FunctionalInterface
public interface ChangedAreas {

  /**
   * Returns the changed ranges that intersect {@code [offset, offset + length)}, sorted and not
   * overlapping; they may reach outside the range (they are clipped).
   */
  List<Area> changed(long offset, long length) throws IOException;

  /**
   * A changed byte range.
   *
   * @param offset first byte
   * @param length number of bytes, positive
   */
  record Area(long offset, long length) {
    public Area {
      if (offset < 0 || length <= 0 || offset + length < 0) {
        throw new IllegalArgumentException("bad changed area: offset " + offset + " length " + length);
      }
    }

    /** Returns the first byte after the range. */
    public long end() {
      return offset + length;
    }
  }
}
