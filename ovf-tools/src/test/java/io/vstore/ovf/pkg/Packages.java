package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Shared pieces of the package tests: devices with known content, a minimal descriptor, hand-made tars. */
final class Packages {
  private Packages() {}

  /** Returns a device of {@code size} bytes: random 64 KiB runs, compressible text runs and holes, from {@code seed}. */
  static MemoryBlockDevice disk(String name, long size, long seed) throws IOException {
    MemoryBlockDevice d = new MemoryBlockDevice(name, size);
    Random r = new Random(seed);
    byte[] buf = new byte[64 * 1024];
    for (long at = 0; at < size; at += buf.length) {
      int n = (int) Math.min(buf.length, size - at);
      switch (r.nextInt(4)) {
        case 0 -> {
          r.nextBytes(buf);
          d.write(at, ByteBuffer.wrap(buf, 0, n));
        }
        case 1 -> {
          byte[] text = ("block " + at + " of " + name + "\n").repeat(4000).getBytes(StandardCharsets.US_ASCII);
          d.write(at, ByteBuffer.wrap(text, 0, n));
        }
        case 2 -> d.write(at + r.nextInt(n), ByteBuffer.wrap(new byte[] {(byte) (1 + r.nextInt(200))}));
        default -> { } // a hole
      }
    }
    return d;
  }

  /** Returns all bytes of {@code d}. */
  static byte[] bytes(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate((int) d.size());
    d.read(0, b);
    return b.array();
  }

  /** A descriptor listing the files (only what the package layer needs: References with sizes). */
  static byte[] descriptor(Map<String, OvaWriter.Written> files) {
    StringBuilder sb = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope xmlns=\"http://schemas.dmtf.org/ovf/envelope/1\""
        + " xmlns:ovf=\"http://schemas.dmtf.org/ovf/envelope/1\">\n  <References>\n");
    for (OvaWriter.Written w : files.values()) {
      sb.append("    <File ovf:id=\"").append(w.id()).append("\" ovf:href=\"").append(w.href()).append("\" ovf:size=\"")
          .append(w.size()).append('"');
      if (w.chunkSize() > 0) {
        sb.append(" ovf:chunkSize=\"").append(w.chunkSize()).append('"');
      }
      if (w.compression() != null) {
        sb.append(" ovf:compression=\"").append(w.compression()).append('"');
      }
      sb.append("/>\n");
    }
    sb.append("  </References>\n  <DiskSection>\n");
    for (OvaWriter.Written w : files.values()) {
      if (w.capacity() >= 0) {
        sb.append("    <Disk ovf:diskId=\"d-").append(w.id()).append("\" ovf:fileRef=\"").append(w.id())
            .append("\" ovf:capacity=\"").append(w.capacity()).append("\" ovf:populatedSize=\"").append(w.populatedSize())
            .append("\" ovf:format=\"").append(w.format()).append("\"/>\n");
      }
    }
    sb.append("  </DiskSection>\n</Envelope>\n");
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Returns the references of {@code files} as a reader gives them to the package. */
  static List<FileRef> refs(Map<String, OvaWriter.Written> files) {
    List<FileRef> out = new ArrayList<>();
    for (OvaWriter.Written w : files.values()) {
      out.add(new FileRef(w.id(), w.href(), w.size(), w.chunkSize(), w.compression()));
    }
    return out;
  }

  /** One member of a hand-made tar. */
  record Entry(String name, byte[] data, byte type, String link) {
    static Entry file(String name, byte[] data) {
      return new Entry(name, data, TarArchiveEntry.LF_NORMAL, null);
    }

    static Entry file(String name, String text) {
      return file(name, text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Writes a tar of {@code entries} (POSIX/pax for long names) to {@code out}. */
  static Path tar(Path out, Entry... entries) throws IOException {
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(Files.newOutputStream(out))) {
      t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      t.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Entry e : entries) {
        TarArchiveEntry te = e.type() == TarArchiveEntry.LF_NORMAL ? new TarArchiveEntry(e.name())
            : new TarArchiveEntry(e.name(), e.type());
        if (e.link() != null) {
          te.setLinkName(e.link());
        }
        te.setSize(e.data() == null ? 0 : e.data().length);
        t.putArchiveEntry(te);
        if (e.data() != null) {
          t.write(e.data());
        }
        t.closeArchiveEntry();
      }
    }
    return out;
  }

  /** Returns the manifest line for {@code data} named {@code name}. */
  static String sha256Line(String name, byte[] data) {
    return "SHA256(" + name + ")= " + Manifest.hex(DigestAlgorithm.SHA256.newDigest().digest(data)) + "\n";
  }

  /** Reads all of {@code in}. */
  static byte[] all(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }
}
