package io.vstore.ovf.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * An OVF package as a directory: the descriptor and the files beside it. Members are the regular
 * files of the directory tree (symbolic links are refused, as in an OVA), the descriptor first.
 */
final class DirectorySource implements PackageSource {
  private final Path dir;
  private final List<Member> members;

  private DirectorySource(Path dir, List<Member> members) {
    this.dir = dir;
    this.members = members;
  }

  /** Lists the package of descriptor {@code descriptor} (a .ovf file), descriptor first. */
  static DirectorySource open(Path descriptor) throws IOException {
    Path dir = descriptor.toAbsolutePath().getParent();
    String descName = descriptor.getFileName().toString();
    List<Member> members = new ArrayList<>();
    members.add(null); // the descriptor's place
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        String rel = dir.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
        if (a.isDirectory()) {
          continue;
        }
        if (members.size() > MAX_MEMBERS) {
          throw new PackageException("bad ova: " + dir + ": more than " + MAX_MEMBERS + " files");
        }
        if (a.isSymbolicLink()) {
          // Only a link the descriptor references is an error; others are not part of the package.
          members.add(new Member(rel, -1, -1, p));
          continue;
        }
        if (!a.isRegularFile()) {
          continue;
        }
        Member m = new Member(rel, a.size(), -1, p);
        if (rel.equals(descName)) {
          members.set(0, m);
        } else {
          members.add(m);
        }
      }
    }
    if (members.get(0) == null) {
      throw new java.nio.file.NoSuchFileException(descriptor.toString(), null, "no such OVF descriptor");
    }
    return new DirectorySource(dir, List.copyOf(members));
  }

  @Override
  public String name() {
    return dir.toString();
  }

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
