package io.vstore.blockstore;

import java.util.ArrayList;
import java.util.List;

/** Builds a sorted list of extents, merging neighbours of the same kind as they are appended. */
public final class ExtentList {
  private final List<Extent> extents = new ArrayList<>();

  /** Appends {@code [offset, offset + length)} of {@code kind}; empty ranges are ignored. */
  public void add(long offset, long length, Extent.Kind kind) {
    if (length <= 0) {
      return;
    }
    if (!extents.isEmpty()) {
      Extent last = extents.getLast();
      if (last.kind() == kind && last.end() == offset) {
        extents.set(extents.size() - 1, new Extent(last.offset(), last.length() + length, kind));
        return;
      }
    }
    extents.add(new Extent(offset, length, kind));
  }

  /** Appends every extent of {@code more}. */
  public void addAll(List<Extent> more) {
    for (Extent e : more) {
      add(e.offset(), e.length(), e.kind());
    }
  }

  /** Returns the extents appended so far. */
  public List<Extent> toList() {
    return List.copyOf(extents);
  }
}
