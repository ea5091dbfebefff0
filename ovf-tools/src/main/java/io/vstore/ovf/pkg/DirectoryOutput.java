package io.vstore.ovf.pkg;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/** An OVF package written as a directory: each member a file; removed again unless committed. */
final class DirectoryOutput implements PackageOutput {
  private final Path dir;
  private final DigestAlgorithm alg;
  private final boolean createdDir;
  private final List<Path> created = new ArrayList<>();
  private final List<FileChannel> channels = new ArrayList<>();
  private boolean committed;

  DirectoryOutput(Path dir, DigestAlgorithm alg) throws IOException {
    this.dir = dir;
    this.alg = alg;
    if (Files.exists(dir)) {
      try (var s = Files.list(dir)) {
        if (s.findAny().isPresent()) {
          throw new java.nio.file.FileAlreadyExistsException(dir.toString(), null, "the target directory is not empty");
        }
      }
      createdDir = false;
    } else {
      Files.createDirectories(dir);
      createdDir = true;
    }
  }

  private FileChannel create(String name) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    created.add(p);
    channels.add(ch);
    return ch;
  }

  @Override
  public MemberWriter begin(String name) throws IOException {
    FileChannel ch = create(name);
    return new DigestingWriter(name, ch, 0, alg, () -> { });
  }

  @Override
  public void writeFront(SequencedMap<String, byte[]> members) throws IOException {
    for (Map.Entry<String, byte[]> e : members.entrySet()) {
      FileChannel ch = create(e.getKey());
      ByteBuffer b = ByteBuffer.wrap(e.getValue());
      while (b.hasRemaining()) {
        ch.write(b);
      }
    }
  }

  @Override
  public void commit() throws IOException {
    for (FileChannel ch : channels) {
      ch.force(true);
    }
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Not every platform opens directories; the files themselves are synced.
    }
    committed = true;
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    for (FileChannel ch : channels) {
      try {
        ch.close();
      } catch (IOException e) {
        failure = e;
      }
    }
    if (!committed) {
      for (Path p : created.reversed()) {
        Files.deleteIfExists(p);
      }
      if (createdDir) {
        try (var s = Files.walk(dir)) {
          for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
