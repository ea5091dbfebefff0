package io.vstore.ovf.pkg;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.util.List;

/**
 * Where a package's members come from. A random-access source (directory, seekable OVA) lists all
 * members up front and opens any of them; a stream source (an OVA read from a pipe) hands them out
 * one after the other, each readable only until the next is asked for.
 */
interface PackageSource extends Closeable {
  /** Most members a package may hold (a bound on memory for hostile tars). */
  int MAX_MEMBERS = 10_000;

  /** Returns the package's name for messages. */
  String name();

  /** Returns all members in package order, or null for a stream source. */
  List<Member> members();

  /** Returns the next member of a stream source, or null at the end of the archive. */
  Member next() throws IOException;

  /** Opens {@code m}'s bytes; for a stream source {@code m} must be the member {@link #next} returned last. */
  InputStream open(Member m) throws IOException;

  /** Opens {@code m} as a read-only channel, or returns null when the source cannot (a stream). */
  FileChannel channel(Member m) throws IOException;
}
