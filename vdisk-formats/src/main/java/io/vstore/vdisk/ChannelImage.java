package io.vstore.vdisk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** A {@link FileImage} whose structures and data all lie in one file, read and written through one channel. */
public abstract class ChannelImage extends FileImage {
  /** The image's file, closed by {@link #closeFiles()}. */
  protected final FileChannel channel;

  /**
   * Creates the common state of an image held in {@code channel}.
   *
   * @param kind the format name that {@link #toString()} shows before the path
   * @param parent the backing image this image owns and closes, or null
   */
  protected ChannelImage(String kind, Path path, long size, boolean readOnly, DiskImage parent, FileChannel channel) {
    super(kind, path, size, readOnly, parent);
    this.channel = channel;
  }

  /** Writes all of {@code src} at {@code position} of the file. */
  protected final void writeFully(long position, ByteBuffer src) throws IOException {
    FileContent.writeFully(channel, position, src);
  }

  @Override
  protected void closeFiles() throws IOException {
    channel.close();
  }
}
