package io.vstore.vdisk.vmdk;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** What every extent stored in a file of its own keeps the same way: the file, its channel and the guest size. */
abstract sealed class FileExtent implements ExtentData permits FlatExtent, GrainedExtent {
  private final Path file;
  private final FileChannel channel;
  private final long size;

  /** Wraps {@code channel}, open on {@code file}, for an extent of {@code size} guest bytes. */
  FileExtent(Path file, FileChannel channel, long size) {
    this.file = file;
    this.channel = channel;
    this.size = size;
  }

  @Override
  public final long size() {
    return size;
  }

  @Override
  public final Path file() {
    return file;
  }

  /** Returns the channel on the extent's file. */
  final FileChannel channel() {
    return channel;
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public final String toString() {
    return file.toString();
  }
}
