package io.vstore.ovf.pkg;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;

/** Checks tar entries and turns Commons Compress's failures into one-line package errors. */
final class TarEntries {
  private TarEntries() {}

  /**
   * Returns the member {@code e} describes, null for a directory entry (ignored), or throws for
   * links, devices, sparse members and bad names.
   */
  static Member check(String pkg, TarArchiveEntry e, long dataOffset) throws PackageException {
    String raw = e.getName();
    String shown = PackageNames.printable(raw);
    if (e.isSymbolicLink() || e.isLink()) {
      throw new PackageException("bad ova: " + pkg + ": member '" + shown + "' is a link (to '"
          + PackageNames.printable(e.getLinkName()) + "'); packages hold plain files only");
    }
    if (e.isDirectory()) {
      return null;
    }
    if (e.isSparse()) {
      throw new PackageException("unsupported ova: " + pkg + ": member '" + shown + "' is a sparse tar member");
    }
    if (!e.isFile()) {
      throw new PackageException("bad ova: " + pkg + ": member '" + shown + "' is not a plain file (tar type '"
          + (char) typeFlag(e) + "')");
    }
    if (e.getSize() < 0) {
      throw new PackageException("bad ova: " + pkg + ": member '" + shown + "' has negative size " + e.getSize());
    }
    String name = PackageNames.check(pkg, "member", raw);
    return new Member(name, e.getSize(), dataOffset, null);
  }

  private static int typeFlag(TarArchiveEntry e) {
    // Commons Compress keeps the type flag private; the predicates above cover every plain kind.
    if (e.isCharacterDevice()) {
      return '3';
    }
    if (e.isBlockDevice()) {
      return '4';
    }
    if (e.isFIFO()) {
      return '6';
    }
    return '?';
  }

  /** Returns the package error for a failure of the tar reader. */
  static PackageException bad(String pkg, Exception e) {
    if (e instanceof PackageException p) {
      return p;
    }
    String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof EOFException || why.toLowerCase(java.util.Locale.ROOT).contains("truncated")) {
      return new PackageException("bad ova: " + pkg + ": truncated tar (" + why + ")", e);
    }
    return new PackageException("bad ova: " + pkg + ": not a readable tar: " + why, e);
  }

  /** A member's bytes whose tar failures become package errors naming the member. */
  static final class Guarded extends FilterInputStream {
    private final String where;

    Guarded(InputStream in, String pkg, String member) {
      super(in);
      this.where = pkg + ": member '" + PackageNames.printable(member) + "'";
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException | RuntimeException e) {
        throw bad(where, e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException | RuntimeException e) {
        throw bad(where, e);
      }
    }

    @Override
    public void close() {
      // The archive stays open for the next member.
    }
  }
}
