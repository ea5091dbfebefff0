package io.vstore.vdisk;

/**
 * What every format whose images are files opened through {@link ImageFiles} keeps the same way:
 * its name and the files it opens and creates through (crash tests pass failing ones).
 */
public abstract class FileBackedFormat implements ImageFormat {
  private final String name;
  private final ImageFiles files;

  /** Creates a format called {@code name} (as qemu-img spells it) on files opened through {@code files}. */
  protected FileBackedFormat(String name, ImageFiles files) {
    this.name = name;
    this.files = files;
  }

  @Override
  public final String name() {
    return name;
  }

  /** Returns the files this format opens and creates images through. */
  protected final ImageFiles files() {
    return files;
  }
}
