package io.vstore.ovf.pkg;

import java.io.Closeable;
import java.io.IOException;

/**
 * Where a package's members are stored while it is written: an OVA file or a directory. Files are
 * written first, each member streaming to its final place; the descriptor, manifest and
 * certificate last ({@link #writeFront}), which the OVA puts into space reserved at its front.
 */
interface PackageOutput extends Closeable {
  /** A member being written: its bytes in order, digested on the way. */
  interface MemberWriter extends ByteSink {
    /** Returns the member's name. */
    String name();

    /** Returns the member's size; valid after {@link #finish()}. */
    long size();

    /** Returns the hex digest of the member's bytes, or null without a manifest; valid after {@link #finish()}. */
    String hexDigest();
  }

  /** Starts member {@code name}; the previous member must be finished. */
  MemberWriter begin(String name) throws IOException;

  /** Writes the leading members (descriptor, manifest, certificate: name → bytes, in order). */
  void writeFront(java.util.SequencedMap<String, byte[]> members) throws IOException;

  /** Makes everything durable and ends the package. */
  void commit() throws IOException;

  /** Removes what was written unless {@link #commit()} succeeded. */
  @Override
  void close() throws IOException;
}
