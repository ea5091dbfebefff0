package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Stores a file as one member, or, with a chunk size, as members {@code href.000000000},
 * {@code href.000000001}, … of that many bytes each (the last one shorter), as {@code ovf:chunkSize} says.
 */
final class ChunkSink implements ByteSink {
  private final PackageOutput out;
  private final FileRef ref;
  private final List<PackageOutput.MemberWriter> members = new ArrayList<>();
  private PackageOutput.MemberWriter current;
  private long inCurrent;

  ChunkSink(PackageOutput out, FileRef ref) {
    this.out = out;
    this.ref = ref;
  }

  @Override
  public void write(ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      if (current == null) {
        current = out.begin(ref.chunked() ? ref.chunkName(members.size()) : ref.href());
        members.add(current);
        inCurrent = 0;
      }
      int n = ref.chunked() ? (int) Math.min(src.remaining(), ref.chunkSize() - inCurrent) : src.remaining();
      ByteBuffer part = src.slice(src.position(), n);
      current.write(part);
      src.position(src.position() + n);
      inCurrent += n;
      if (ref.chunked() && inCurrent == ref.chunkSize()) {
        current.finish();
        current = null;
      }
    }
  }

  @Override
  public void finish() throws IOException {
    if (current == null && members.isEmpty()) {
      current = out.begin(ref.chunked() ? ref.chunkName(0) : ref.href());
      members.add(current);
    }
    if (current != null) {
      current.finish();
      current = null;
    }
  }

  /** Returns the members written, in order. */
  List<PackageOutput.MemberWriter> members() {
    return members;
  }
}
