package io.vstore.backup.instant;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One bit per unit, set once and never cleared, in pages allocated on first use: a fresh restore
 * of a 1 TiB volume costs one small array of page references, not a bitmap of the whole volume.
 * Lock-free; a set bit is visible to every thread that reads it afterwards.
 */
final class UnitBitmap {
  /** Units per page: 64 Ki bits, 8 KiB of longs. */
  private static final int PAGE_SHIFT = 16;
  private static final int PAGE_UNITS = 1 << PAGE_SHIFT;

  private final long units;
  private final AtomicReferenceArray<AtomicLongArray> pages;

  /** Creates an empty bitmap of {@code units} bits. */
  UnitBitmap(long units) {
    if (units < 0 || (units >>> PAGE_SHIFT) >= Integer.MAX_VALUE) {
      throw new IllegalArgumentException("bad unit count: " + units);
    }
    this.units = units;
    this.pages = new AtomicReferenceArray<>((int) ((units + PAGE_UNITS - 1) >>> PAGE_SHIFT));
  }

  /** Returns whether bit {@code unit} is set. */
  boolean get(long unit) {
    AtomicLongArray page = pages.get((int) (unit >>> PAGE_SHIFT));
    if (page == null) {
      return false;
    }
    int bit = (int) (unit & (PAGE_UNITS - 1));
    return (page.get(bit >>> 6) & (1L << bit)) != 0;
  }

  /** Sets bit {@code unit}. */
  void set(long unit) {
    if (unit < 0 || unit >= units) {
      throw new IndexOutOfBoundsException("unit " + unit + " of " + units);
    }
    int index = (int) (unit >>> PAGE_SHIFT);
    AtomicLongArray page = pages.get(index);
    if (page == null) {
      pages.compareAndSet(index, null, new AtomicLongArray(PAGE_UNITS / Long.SIZE));
      page = pages.get(index);
    }
    int bit = (int) (unit & (PAGE_UNITS - 1));
    long mask = 1L << bit;
    long word;
    do {
      word = page.get(bit >>> 6);
    } while ((word & mask) == 0 && !page.compareAndSet(bit >>> 6, word, word | mask));
  }
}
