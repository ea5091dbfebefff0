package io.vstore.ovf.pkg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarFile;

/**
 * An OVA in a seekable file: the tar's headers are read once (each member's data skipped by
 * seeking), after which any member opens as a stream or as a {@link WindowChannel} onto its bytes.
 */
final class SeekableOvaSource implements PackageSource {
  private final Path path;
  private final FileChannel file;
  private final List<Member> members;

  private SeekableOvaSource(Path path, FileChannel file, List<Member> members) {
    this.path = path;
    this.file = file;
    this.members = members;
  }

  static SeekableOvaSource open(Path path) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
    try {
      String name = path.toString();
      List<Member> members = new ArrayList<>();
      Set<String> names = new HashSet<>();
      List<TarArchiveEntry> entries;
      // TarFile lists every header before returning: bound how many it may read on a hostile file.
      try (TarFile tar = new TarFile(new HeaderBudget(ch, name), 10240, 512, "UTF-8", false)) {
        entries = tar.getEntries();
      } catch (IOException | RuntimeException e) {
        throw TarEntries.bad(name, e);
      }
      for (TarArchiveEntry e : entries) {
        Member m = TarEntries.check(name, e, e.getDataOffset());
        if (m == null) {
          continue;
        }
        if (m.dataOffset() < 0 || m.dataOffset() + m.size() > ch.size() || m.dataOffset() + m.size() < 0) {
          throw new PackageException("bad ova: " + name + ": truncated tar: member '" + PackageNames.printable(m.name())
              + "' of " + m.size() + " bytes at " + m.dataOffset() + " ends beyond the file's " + ch.size() + " bytes");
        }
        if (!names.add(m.name())) {
          throw new PackageException("bad ova: " + name + ": member '" + PackageNames.printable(m.name()) + "' appears twice");
        }
        members.add(m);
      }
      if (members.isEmpty()) {
        throw new PackageException("bad ova: " + name
            + ": the tar holds no files (empty, or truncated within its first header)");
      }
      return new SeekableOvaSource(path, ch, List.copyOf(members));
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  @Override
  public String name() {
    return path.toString();
  }

  @Override
  public List<Member> members() {
    return members;
  }

  @Override
  public Member next() {
    throw new IllegalStateException("a seekable OVA lists its members");
  }

  @Override
  public InputStream open(Member m) throws IOException {
    return new TarEntries.Guarded(Channels.newInputStream(channel(m)), name(), m.name());
  }

  @Override
  public FileChannel channel(Member m) {
    return new WindowChannel(file, m.dataOffset(), m.size(), path + ":" + m.name());
  }

  @Override
  public void close() throws IOException {
    file.close();
  }

  @Override
  public String toString() {
    return name();
  }

  /**
   * The OVA's channel as TarFile reads it, failing once it has seeked more often than a tar of
   * {@link #MAX_MEMBERS} members needs (TarFile seeks past each member's data and padding).
   */
  private static final class HeaderBudget implements SeekableByteChannel {
    private final FileChannel ch;
    private final String name;
    private long seeks;

    HeaderBudget(FileChannel ch, String name) {
      this.ch = ch;
      this.name = name;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return ch.read(dst);
    }

    @Override
    public int write(ByteBuffer src) {
      throw new java.nio.channels.NonWritableChannelException();
    }

    @Override
    public long position() throws IOException {
      return ch.position();
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
      if (++seeks > 4L * MAX_MEMBERS + 64) {
        throw new PackageException("bad ova: " + name + ": more than " + MAX_MEMBERS + " members");
      }
      ch.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public SeekableByteChannel truncate(long size) {
      throw new java.nio.channels.NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return ch.isOpen();
    }

    @Override
    public void close() {
      // The source keeps the channel.
    }
  }
}
