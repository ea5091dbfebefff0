package io.vstore.ovf.pkg;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * One file the descriptor references, as the package delivers it: its bytes as one stream (chunks
 * reassembled, gzip decompressed, every member checked against the manifest as it is read), and,
 * when the package is seekable and the file stored plainly, a channel onto its bytes.
 *
 * <p>{@link #stream()} may be called once. From a stream source the file is readable only until
 * the package's next file is asked for; what was not read by then is read (and verified) and dropped.
 */
public final class PackageFile {
  private final OvfPackage pkg;
  private final FileRef ref;
  private final List<Member> members; // all members for random access; the first one for a stream
  private boolean streamed;
  private InputStream joined; // the members in sequence, before decompression
  private boolean verified;

  PackageFile(OvfPackage pkg, FileRef ref, List<Member> members) {
    this.pkg = pkg;
    this.ref = ref;
    this.members = members;
  }

  /** Returns the descriptor's reference this file answers. */
  public FileRef ref() {
    return ref;
  }

  /** Returns the bytes the file takes in the package (compressed, all chunks), or -1 while a stream has not reached its end. */
  public long storedSize() {
    if (!pkg.seekable() && !verified) {
      return -1;
    }
    return members.stream().mapToLong(Member::size).sum();
  }

  /** Returns the file's bytes: chunks reassembled, gzip decompressed, verified against the manifest as they stream. */
  public InputStream stream() throws IOException {
    if (streamed) {
      throw new IllegalStateException(ref.href() + ": the stream was already opened");
    }
    streamed = true;
    Enumeration<InputStream> parts = pkg.seekable() ? randomParts() : pkg.streamParts(this);
    joined = new Rethrowing(new SequenceInputStream(parts));
    return ref.gzip() ? new GZIPInputStream(joined, 64 * 1024) : new BufferedInputStream(joined, 64 * 1024);
  }

  private Enumeration<InputStream> randomParts() throws IOException {
    List<InputStream> parts = new ArrayList<>();
    for (Member m : members) {
      parts.add(verifying(pkg.source().open(m), m));
    }
    return Collections.enumeration(parts);
  }

  VerifyingInputStream verifying(InputStream in, Member m) throws PackageException {
    VerifyingInputStream v = new VerifyingInputStream(in, pkg.name(), m.name(), m.size(), pkg.manifestEntry(m.name()),
        () -> pkg.verified(m.name()));
    return v;
  }

  /**
   * Returns whether every stored byte of the file is checked against the manifest as it streams
   * (a package with a manifest lists every member, or reading it fails).
   */
  boolean digested() {
    return pkg.manifest().isPresent();
  }

  /** Adds a chunk a stream source delivered after the first. */
  void addMember(Member m) {
    members.add(m);
  }

  List<Member> members() {
    return members;
  }

  /**
   * Returns a read-only channel onto the file's bytes in the package, present when the package is
   * seekable (a file or directory) and the file is one plain member (not chunked, not compressed).
   * Reading through it checks nothing against the manifest: call {@link #verify()} for that.
   */
  public Optional<FileChannel> channel() throws IOException {
    if (!pkg.seekable() || members.size() != 1 || ref.gzip()) {
      return Optional.empty();
    }
    return Optional.of(pkg.source().channel(members.getFirst()));
  }

  /** Returns the file's own path when the package is a directory (so multi-file formats find their siblings). */
  public Optional<Path> path() {
    return members.size() == 1 ? Optional.ofNullable(members.getFirst().path()) : Optional.empty();
  }

  /**
   * Reads the stored bytes once through the manifest's digests (a no-op without a manifest): for
   * files read through {@link #channel()}, whose random reads cannot be digested on the way.
   */
  public void verify() throws IOException {
    if (verified || pkg.manifest().isEmpty()) {
      return;
    }
    if (!pkg.seekable()) {
      throw new IllegalStateException(ref.href() + ": a stream's files are verified by reading stream()");
    }
    for (Member m : members) {
      try (InputStream in = pkg.source().open(m)) {
        VerifyingInputStream v = verifying(in, m);
        v.drain();
      }
    }
    verified = true;
  }

  /** Reads what is left of the file's members, so that a stream moves on verified. */
  void drain() throws IOException {
    if (!streamed) {
      stream();
    }
    byte[] buf = new byte[256 * 1024];
    while (joined.read(buf) >= 0) {
      // digesting what the caller left
    }
    verified = true;
  }

  boolean streamed() {
    return streamed;
  }

  @Override
  public String toString() {
    return pkg.name() + ":" + ref.href();
  }

  /** Turns the unchecked failures of fetching the next chunk (an Enumeration cannot throw) back into IOExceptions. */
  private static final class Rethrowing extends java.io.FilterInputStream {
    Rethrowing(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause();
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause();
      }
    }
  }
}
