package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Map;
import java.util.SequencedMap;

/**
 * An OVA being written in place, with no second copy of any disk: the files stream to their final
 * positions behind a region reserved at the front, each member's tar header written into the room
 * left before its data once its size is known; the descriptor, manifest and certificate, whose
 * contents depend on those sizes and digests, are written into the front region last.
 */
final class OvaOutput implements PackageOutput {
  private final Path target;
  private final FileChannel ch;
  private final long front;
  private final DigestAlgorithm alg;
  private final long mtime = Instant.now().getEpochSecond();
  private long end;
  private DigestingWriter open;
  private boolean committed;

  OvaOutput(Path target, long front, DigestAlgorithm alg) throws IOException {
    if (front % TarHeader.BLOCK != 0) {
      throw new IllegalArgumentException("front region " + front + " is not a multiple of " + TarHeader.BLOCK);
    }
    this.target = target;
    this.ch = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    this.front = front;
    this.alg = alg;
    this.end = front;
  }

  /** Returns the bytes a front member named {@code name} of {@code length} bytes takes, header and padding included. */
  static long frontLength(String name, long length) {
    return TarHeader.length(name, false) + pad(length);
  }

  static long pad(long n) {
    return (n + TarHeader.BLOCK - 1) / TarHeader.BLOCK * TarHeader.BLOCK;
  }

  @Override
  public MemberWriter begin(String name) {
    if (open != null) {
      throw new IllegalStateException(target + ": member " + open.name() + " is not finished");
    }
    long headerAt = end;
    DigestingWriter[] self = new DigestingWriter[1];
    self[0] = new DigestingWriter(name, ch, headerAt + TarHeader.STREAMED, alg, () -> {
      try {
        DigestingWriter w = self[0];
        write(headerAt, TarHeader.write(name, w.size(), mtime, true));
        long padding = pad(w.size()) - w.size();
        if (padding > 0) {
          write(w.start() + w.size(), ByteBuffer.allocate((int) padding));
        }
        end = w.start() + pad(w.size());
        open = null;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    open = self[0];
    return new MemberWriter() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void write(ByteBuffer src) throws IOException {
        self[0].write(src);
      }

      @Override
      public void finish() throws IOException {
        try {
          self[0].finish();
        } catch (java.io.UncheckedIOException e) {
          throw e.getCause();
        }
      }

      @Override
      public long size() {
        return self[0].size();
      }

      @Override
      public String hexDigest() {
        return self[0].hexDigest();
      }
    };
  }

  private void write(long at, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      at += ch.write(b, at);
    }
  }

  /**
   * Writes the leading members into the front region; their lengths (headers and padding included)
   * must fill it exactly, which the writer arranges by padding the descriptor.
   */
  @Override
  public void writeFront(SequencedMap<String, byte[]> members) throws IOException {
    long at = 0;
    for (Map.Entry<String, byte[]> e : members.entrySet()) {
      byte[] data = e.getValue();
      ByteBuffer h = TarHeader.write(e.getKey(), data.length, mtime, false);
      write(at, h);
      at += h.capacity();
      write(at, ByteBuffer.wrap(data));
      at += data.length;
      long padding = pad(data.length) - data.length;
      write(at, ByteBuffer.allocate((int) padding));
      at += padding;
    }
    if (at != front) {
      throw new IllegalStateException(target + ": the leading members take " + at + " bytes, the reserved front " + front);
    }
  }

  @Override
  public void commit() throws IOException {
    if (open != null) {
      throw new IllegalStateException(target + ": member " + open.name() + " is not finished");
    }
    // Two zero blocks end a tar; GNU tar also rounds the archive up to its 10 KiB record.
    long total = end + 2 * TarHeader.BLOCK;
    long record = 20L * TarHeader.BLOCK;
    total = (total + record - 1) / record * record;
    write(end, ByteBuffer.allocate((int) (total - end)));
    ch.force(true);
    committed = true;
  }

  /** Returns the archive's size so far. */
  long end() {
    return end;
  }

  @Override
  public void close() throws IOException {
    try {
      ch.close();
    } finally {
      if (!committed) {
        Files.deleteIfExists(target);
      }
    }
  }
}
