package io.vstore.ovf.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An OVA read once from a stream: the tar (ustar, pax, GNU; members of any size) is walked with
 * Commons Compress and every member is handed out in order, nothing is extracted or kept.
 */
final class StreamOvaSource implements PackageSource {
  private final String name;
  private final TarArchiveInputStream tar;
  private final Set<String> seen = new HashSet<>();
  private Member current;

  StreamOvaSource(InputStream in, String name) {
    this.name = name;
    this.tar = new TarArchiveInputStream(in, "UTF-8");
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public List<Member> members() {
    return null;
  }

  @Override
  public Member next() throws IOException {
    while (true) {
      TarArchiveEntry e;
      try {
        e = tar.getNextEntry();
      } catch (IOException | RuntimeException ex) {
        throw TarEntries.bad(name, ex);
      }
      if (e == null) {
        current = null;
        return null;
      }
      Member m = TarEntries.check(name, e, -1);
      if (m == null) {
        continue; // a directory entry
      }
      if (!seen.add(m.name())) {
        throw new PackageException("bad ova: " + name + ": member '" + PackageNames.printable(m.name()) + "' appears twice");
      }
      if (seen.size() > MAX_MEMBERS) {
        throw new PackageException("bad ova: " + name + ": more than " + MAX_MEMBERS + " members");
      }
      current = m;
      return m;
    }
  }

  @Override
  public InputStream open(Member m) {
    if (m != current) {
      throw new IllegalStateException(name + ": member " + m.name() + " has passed; a stream is read in order");
    }
    return new TarEntries.Guarded(tar, name, m.name());
  }

  @Override
  public FileChannel channel(Member m) {
    return null;
  }

  @Override
  public void close() throws IOException {
    tar.close();
  }

  @Override
  public String toString() {
    return name;
  }
}
