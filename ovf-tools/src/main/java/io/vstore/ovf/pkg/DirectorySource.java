package io.vstore.ovf.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * An OVF package as a directory: the descriptor and the files beside it. Only the files the
 * package names are looked at (the descriptor, its manifest and certificate, then what the
 * references and the manifest name), so a descriptor that sits in a large directory costs no walk
 * of it. A symbolic link anywhere on a file's path is refused when the file is used, as in an OVA.
 */
final class DirectorySource implements PackageSource {
  private final Path dir;
  private final List<Member> members;

  private DirectorySource(Path dir, List<Member> members) {
    this.dir = dir;
    this.members = members;
  }

  /** Opens the package of descriptor {@code descriptor} (a .ovf file): the descriptor, manifest and certificate. */
  static DirectorySource open(Path descriptor) throws IOException {
    Path dir = descriptor.toAbsolutePath().getParent();
    String name = descriptor.getFileName().toString();
    DirectorySource probe = new DirectorySource(dir, List.of());
    Member desc = probe.lookup(name);
    if (desc == null) {
      throw new NoSuchFileException(descriptor.toString(), null, "no such OVF descriptor");
    }
    List<Member> members = new ArrayList<>(List.of(desc));
    String base = name.substring(0, name.length() - 4);
    for (String extra : List.of(base + ".mf", base + ".cert")) {
      Member m = probe.lookup(extra);
      if (m != null) {
        members.add(m);
      }
    }
    return new DirectorySource(dir, List.copyOf(members));
  }

  /**
   * Returns the member at relative path {@code name} (already checked by {@link PackageNames}),
   * null when there is no such file, and a member of size -1 when a symbolic link is on its path.
   */
  Member lookup(String name) throws IOException {
    Path p = dir;
    String[] parts = name.split("/");
    for (int i = 0; i < parts.length; i++) {
      p = p.resolve(parts[i]);
      BasicFileAttributes a;
      try {
        a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      } catch (NoSuchFileException e) {
        return null;
      }
      if (a.isSymbolicLink()) {
        return new Member(name, -1, -1, p);
      }
      if (i == parts.length - 1) {
        return a.isRegularFile() ? new Member(name, a.size(), -1, p) : null;
      }
      if (!a.isDirectory()) {
        return null;
      }
    }
    return null;
  }

  @Override
  public String name() {
    return dir.toString();
  }

  /** Returns the descriptor, manifest and certificate; other files are found with {@link #lookup}. */
  @Override
  public List<Member> members() {
    return members;
  }

  @Override
  public Member next() {
    throw new IllegalStateException("a directory lists its members");
  }

  @Override
  public InputStream open(Member m) throws IOException {
    return Channels.newInputStream(channel(m));
  }

  @Override
  public FileChannel channel(Member m) throws IOException {
    if (m.size() < 0) {
      throw new PackageException("bad ova: " + dir + ": file '" + PackageNames.printable(m.name())
          + "' is a symbolic link; packages hold plain files only");
    }
    return FileChannel.open(m.path(), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public void close() {
    // Files are opened per member and closed by their readers.
  }

  @Override
  public String toString() {
    return name();
  }
}
