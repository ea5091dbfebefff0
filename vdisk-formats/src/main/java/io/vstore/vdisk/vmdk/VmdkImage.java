package io.vstore.vdisk.vmdk;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.vstore.blockstore.Extent;
import io.vstore.vdisk.FileContent;
import io.vstore.vdisk.FileImage;
import io.vstore.vdisk.CloseSteps;
import io.vstore.vdisk.CorruptImageException;
import io.vstore.vdisk.ImageFormats;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageChainOpener;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.ImageInfo;
import io.vstore.vdisk.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An open VMDK: its descriptor, its extents laid end to end, and its parent for delta disks.
 * Unallocated grains read through to the parent; writes to them copy the rest of the grain from
 * the parent first. The first write after opening gives the image a new CID, as VMware and qemu
 * do, so children made from this image can tell it changed.
 */
final class VmdkImage extends FileImage {
  private static final int SECTOR = 512;

  private final boolean embedded;
  private final List<ExtentData> extents;
  private final long[] starts;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  @GuardedBy("lock")
  private Descriptor descriptor; // changed under the write lock
  @GuardedBy("lock")
  private boolean cidUpdated; // changed under the write lock

  private VmdkImage(Path path, Descriptor descriptor, boolean embedded, List<ExtentData> extents, DiskImage parent, boolean readOnly) {
    super("vmdk", path, totalSize(extents), readOnly, parent);
    this.descriptor = descriptor;
    this.embedded = embedded;
    this.extents = List.copyOf(extents);
    this.starts = new long[extents.size() + 1];
    for (int i = 0; i < extents.size(); i++) {
      starts[i + 1] = starts[i] + extents.get(i).size();
    }
  }

  private static long totalSize(List<ExtentData> extents) {
    long total = 0;
    for (ExtentData e : extents) {
      total += e.size();
    }
    return total;
  }

  /**
   * Opens {@code path} (a text descriptor, or a sparse extent with or without an embedded one) and
   * its extents through {@code files}; without its parent when {@code withParent} is false (check).
   */
  static VmdkImage open(Path path, boolean readOnly, ImageChainOpener chain, boolean withParent, ImageFiles files)
      throws IOException {
    List<ExtentData> opened = new ArrayList<>();
    boolean success = false;
    try {
      Descriptor d;
      boolean embedded;
      boolean cowd;
      try (FileChannel probe = files.open(path, true)) {
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(SECTOR, probe.size()));
        ChannelIo.readPadded(probe, 0, head);
        head.flip();
        cowd = CowdHeader.hasMagic(head);
        embedded = SparseHeader.hasMagic(head) || cowd;
        if (embedded) {
          d = null;
        } else {
          d = readTextDescriptor(path, probe);
        }
      }
      if (embedded) {
        Descriptor[] found = new Descriptor[1];
        opened.add(files.open(path, readOnly || cowd, ch -> {
          SparseHeader h = SparseHeaders.read(path, ch);
          found[0] = readEmbedded(path, ch, h, cowd);
          return SparseExtent.open(path, ch, !readOnly && !cowd, h.capacity() * SECTOR);
        }));
        d = found[0];
      } else {
        for (ExtentLine line : d.extents()) {
          opened.add(openExtent(path, line, readOnly, files));
        }
      }
      DiskImage parent = withParent && d.hasParent() ? openParent(path, d, chain) : null;
      VmdkImage image = new VmdkImage(path, d, embedded, opened, parent, readOnly);
      success = true;
      return image;
    } finally {
      if (!success) {
        for (ExtentData e : opened) {
          e.close();
        }
      }
    }
  }

  private static Descriptor readTextDescriptor(Path path, FileChannel ch) throws IOException {
    long n = ch.size();
    if (n > Descriptor.MAX_SIZE) {
      throw new UnsupportedFormatException("not a vmdk: " + path + ": no sparse magic and too large (" + n + " bytes) for a descriptor");
    }
    ByteBuffer b = ByteBuffer.allocate((int) n);
    ChannelIo.readFully(ch, 0, b, path + ": descriptor");
    return Descriptor.parse(new String(b.array(), StandardCharsets.UTF_8), path.toString());
  }

  private static Descriptor readEmbedded(Path path, FileChannel ch, SparseHeader h, boolean cowd) throws IOException {
    long off = h.descriptorOffset();
    long len = h.descriptorSize();
    if (off == 0 || len == 0) {
      // A bare extent (as in twoGbMaxExtentSparse, or a VMFS delta) opened alone: describe it as one extent.
      String type = cowd ? "vmfsSparse" : h.compressed() ? "streamOptimized" : "monolithicSparse";
      ExtentLine.Type kind = cowd ? ExtentLine.Type.VMFSSPARSE : ExtentLine.Type.SPARSE;
      return new Descriptor(1, 0, Descriptor.NO_PARENT, type, null,
          List.of(new ExtentLine(ExtentLine.Access.RW, h.capacity(), kind, path.getFileName().toString(), 0)), Map.of(), Map.of());
    }
    long fileSize = ch.size();
    // Both fields are unsigned 64-bit on disk: a set top bit reads as negative here.
    if (off < 0 || len < 0 || len > Descriptor.MAX_SIZE / SECTOR || off > fileSize / SECTOR
        || (off + len) * SECTOR > fileSize) {
      throw new CorruptImageException("bad vmdk: " + path + ": embedded descriptor at sector " + off + " (" + len
          + " sectors) lies outside the file (size " + fileSize + ")");
    }
    ByteBuffer b = ByteBuffer.allocate((int) (len * SECTOR));
    ChannelIo.readFully(ch, off * SECTOR, b, path + ": embedded descriptor");
    Descriptor d = Descriptor.parse(new String(b.array(), StandardCharsets.UTF_8), path + " (embedded descriptor)");
    if (d.extents().size() != 1 || d.extents().getFirst().type() != ExtentLine.Type.SPARSE && !cowd) {
      throw new CorruptImageException("bad vmdk: " + path + ": embedded descriptor must describe one SPARSE extent, found "
          + d.extents().size() + " extent(s)");
    }
    return d;
  }

  private static ExtentData openExtent(Path descriptorPath, ExtentLine line, boolean readOnly, ImageFiles files)
      throws IOException {
    long bytes = line.sectors() * SECTOR;
    String name = descriptorPath + " extent \"" + line.fileName() + "\"";
    if (line.type() == ExtentLine.Type.ZERO) {
      return new ZeroExtent(bytes, name);
    }
    Path file = resolve(descriptorPath, line.fileName());
    if (line.access() == ExtentLine.Access.NOACCESS) {
      throw new UnsupportedFormatException("unsupported vmdk: " + descriptorPath + ": extent \"" + line.fileName()
          + "\" is NOACCESS");
    }
    boolean ro = readOnly || line.access() != ExtentLine.Access.RW;
    switch (line.type()) {
      case FLAT, VMFS -> {
        return files.open(file, ro, ch -> new FlatExtent(file, ch, line.offset() * SECTOR, bytes, !ro));
      }
      case SPARSE, VMFSSPARSE -> {
        // VMFSSPARSE (COWD) deltas are read-only here: vstore writes hosted sparse deltas instead.
        boolean writable = !ro && line.type() == ExtentLine.Type.SPARSE;
        return files.open(file, !writable, ch -> SparseExtent.open(file, ch, writable, bytes));
      }
      case SESPARSE -> {
        if (!readOnly) {
          throw new UnsupportedFormatException("unsupported vmdk: " + descriptorPath + ": SESparse extent \"" + line.fileName()
              + "\" opens read-only only (no write support for SESparse)");
        }
        return files.open(file, true, ch -> SeSparseExtent.open(file, ch, bytes));
      }
      default -> throw new UnsupportedFormatException("unsupported vmdk: " + descriptorPath + ": extent type " + line.type()
          + " (\"" + line.fileName() + "\") is not supported");
    }
  }

  private static Path resolve(Path descriptorPath, String name) throws CorruptImageException {
    return ImageFormats.resolveBacking(descriptorPath, name);
  }

  private static DiskImage openParent(Path path, Descriptor d, ImageChainOpener chain) throws IOException {
    if (d.parentFileNameHint() == null) {
      throw new CorruptImageException("bad vmdk: " + path + ": parentCID " + String.format("%08x", d.parentCid())
          + " but no parentFileNameHint");
    }
    if (chain == null) {
      throw new UnsupportedFormatException("unsupported vmdk: " + path + ": delta disk opened without a chain opener");
    }
    Path parentPath = resolve(path, d.parentFileNameHint());
    DiskImage parent = chain.openBacking(parentPath, "vmdk");
    try {
      Object cid = parent.info().details().get("cid");
      if (cid instanceof Long parentCid && parentCid != d.parentCid()) {
        throw new CorruptImageException("bad vmdk: " + path + ": parentCID " + String.format("%08x", d.parentCid())
            + " does not match the CID " + String.format("%08x", parentCid) + " of parent " + parentPath
            + " (the parent changed after this delta disk was made)");
      }
      return parent;
    } catch (IOException | RuntimeException e) {
      parent.close();
      throw e;
    }
  }

  /** Returns the descriptor in effect. */
  Descriptor descriptor() {
    lock.readLock().lock();
    try {
      return descriptor;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Returns the extents in guest order. */
  List<ExtentData> extents() {
    return extents;
  }

  private int extentAt(long offset) {
    int lo = 0;
    int hi = extents.size() - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= offset) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  /** One piece of a request that lies inside one extent. */
  @FunctionalInterface
  private interface ExtentPiece {
    /**
     * Handles up to {@code max} bytes at {@code in} inside extent {@code e}, which starts at guest
     * offset {@code base}, and returns how many it handled (at least one).
     */
    long apply(ExtentData e, long base, long in, long max) throws IOException;
  }

  /** Walks {@code [offset, offset + length)} extent by extent, as far as each piece gets. */
  private void eachExtent(long offset, long length, ExtentPiece piece) throws IOException {
    long end = offset + length;
    for (long pos = offset; pos < end; ) {
      int i = extentAt(pos);
      ExtentData e = extents.get(i);
      long in = pos - starts[i];
      pos += piece.apply(e, starts[i], in, Math.min(end - pos, e.size() - in));
    }
  }

  @Override
  protected void readRange(long offset, ByteBuffer dst) throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen(); // again under the lock: close takes the write lock
      eachExtent(offset, dst.remaining(), (e, base, in, max) -> {
        ExtentData.Run run = e.run(in, max);
        int n = (int) run.length();
        ByteBuffer part = dst.slice(dst.position(), n);
        switch (run.kind()) {
          case DATA -> e.readData(in, part);
          case ZERO -> FileContent.zero(part);
          case HOLE -> readBeneath(base + in, part);
        }
        dst.position(dst.position() + n);
        return n;
      });
    } finally {
      lock.readLock().unlock();
    }
  }

  /** Reads what lies beneath this image at {@code offset}: the parent's bytes, zeros past its end. */
  private void readBeneath(long offset, ByteBuffer dst) throws IOException {
    if (parent() == null) {
      FileContent.zero(dst);
      return;
    }
    long fromParent = Math.max(0, Math.min(dst.remaining(), parent().size() - offset));
    if (fromParent > 0) {
      parent().read(offset, dst.slice(dst.position(), (int) fromParent));
    }
    FileContent.zero(dst.position(dst.position() + (int) fromParent));
  }

  @Override
  protected void writeRange(long offset, ByteBuffer src) throws IOException {
    lock.writeLock().lock();
    try {
      ensureOpen();
      touchCid();
      eachExtent(offset, src.remaining(), (e, base, in, max) -> {
        int n = (int) max;
        e.write(in, src.slice(src.position(), n), (o, d) -> readBeneath(base + o, d));
        src.position(src.position() + n);
        return n;
      });
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  protected void zeroRange(long offset, long length, boolean mayUnmap) throws IOException {
    lock.writeLock().lock();
    try {
      ensureOpen();
      touchCid();
      eachExtent(offset, length, (e, base, in, max) -> {
        e.zero(in, max, parent() != null, (o, d) -> readBeneath(base + o, d));
        return max;
      });
    } finally {
      lock.writeLock().unlock();
    }
  }

  /**
   * Rewrites the descriptor to name parent {@code hint} (null: none) whose CID is {@code parentCid},
   * and makes it durable; the extents are not touched (what {@code image rebase} does last).
   */
  void rewriteParent(String hint, long parentCid) throws IOException {
    lock.writeLock().lock();
    try {
      ensureOpen();
      if (hint != null && hint.indexOf('"') >= 0 || hint != null && hint.indexOf('\n') >= 0) {
        throw new IllegalArgumentException("vmdk parent file name cannot hold a quote or a line break: " + hint);
      }
      Descriptor next = descriptor.withParent(hint, hint == null ? Descriptor.NO_PARENT : parentCid);
      if (embedded && ((SparseExtent) extents.getFirst()).header().descriptorSize() == 0) {
        throw new UnsupportedFormatException("unsupported vmdk: " + path() + " is a bare extent without a descriptor"
            + " to name a parent in");
      }
      writeDescriptor(next);
      if (embedded) {
        ((SparseExtent) extents.getFirst()).channel().force(false);
      }
      descriptor = next;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Gives the image a new CID on its first change, rewriting the descriptor. */
  private void touchCid() throws IOException {
    if (cidUpdated) {
      return;
    }
    long cid;
    do {
      cid = VmdkCreator.newCid();
    } while (cid == descriptor.cid());
    Descriptor next = descriptor.withCid(cid);
    writeDescriptor(next);
    descriptor = next;
    cidUpdated = true;
  }

  private void writeDescriptor(Descriptor d) throws IOException {
    byte[] text = d.toText().getBytes(StandardCharsets.UTF_8);
    if (embedded) {
      SparseExtent s = (SparseExtent) extents.getFirst();
      SparseHeader h = s.header();
      long room = h.descriptorSize() * SECTOR;
      if (h.descriptorOffset() == 0 || room == 0) {
        return; // a bare extent carries no descriptor to update
      }
      if (text.length > room) {
        throw new IOException("vmdk: " + path() + ": descriptor (" + text.length + " bytes) no longer fits the embedded space of " + room);
      }
      ByteBuffer b = ByteBuffer.allocate((int) room);
      b.put(text).clear();
      FileContent.writeFully(s.channel(), h.descriptorOffset() * SECTOR, b);
    } else {
      Path tmp = path().resolveSibling(path().getFileName() + ".tmp");
      Files.write(tmp, text);
      Files.move(tmp, path(), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
  }

  @Override
  protected List<Extent> allocationRange(long offset, long length) throws IOException {
    lock.readLock().lock();
    try {
      ensureOpen();
      List<Extent> out = new ArrayList<>();
      eachExtent(offset, length, (e, base, in, max) -> {
        long pos = base + in;
        ExtentData.Run run = e.run(in, max);
        if (run.kind() == Extent.Kind.HOLE && parent() != null) {
          long fromParent = Math.max(0, Math.min(run.length(), parent().size() - pos));
          if (fromParent > 0) {
            for (Extent pe : parent().allocation(pos, fromParent)) {
              add(out, pe.offset(), pe.length(), pe.kind());
            }
          }
          if (fromParent < run.length()) {
            add(out, pos + fromParent, run.length() - fromParent, Extent.Kind.HOLE);
          }
        } else {
          add(out, pos, run.length(), run.kind());
        }
        return run.length();
      });
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  private static void add(List<Extent> out, long offset, long length, Extent.Kind kind) {
    if (!out.isEmpty() && out.getLast().kind() == kind) {
      Extent last = out.removeLast();
      out.add(new Extent(last.offset(), last.length() + length, kind));
    } else {
      out.add(new Extent(offset, length, kind));
    }
  }

  @Override
  protected void flushFiles() throws IOException {
    lock.writeLock().lock(); // extents write their tables at flush
    try {
      ensureOpen();
      for (ExtentData e : extents) {
        e.flush();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  protected ImageInfo describe() throws IOException {
    Descriptor d = descriptor();
    long allocated = 0;
    List<String> files = new ArrayList<>();
    long grain = 0;
    for (ExtentData e : extents) {
      if (e.file() != null) {
        files.add(e.file().toString());
        allocated += allocatedBytes(e.file());
      }
      if (e instanceof SparseExtent s && grain == 0) {
        grain = s.grainBytes();
      }
    }
    if (!embedded) {
      allocated += Files.size(path());
    }
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("cid", d.cid());
    details.put("parentCid", d.parentCid());
    details.put("createType", d.createType());
    d.ddb().forEach(details::put);
    return new ImageInfo(path().toString(), "vmdk", d.createType(), size(), allocated, grain, d.parentFileNameHint(), files, details);
  }

  private static long allocatedBytes(Path file) throws IOException {
    try {
      Object blocks = Files.getAttribute(file, "unix:blocks");
      return ((Number) blocks).longValue() * 512;
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return Files.size(file);
    }
  }

  @Override
  protected void closeFiles() throws IOException {
    lock.writeLock().lock(); // waits for requests under way
    try {
      CloseSteps steps = new CloseSteps();
      for (ExtentData e : extents) {
        steps.run(e::close);
      }
      steps.finish();
    } finally {
      lock.writeLock().unlock();
    }
  }
}
