package io.vstore.ovf.pkg;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.ChannelOpener;
import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import io.vstore.vdisk.ImageFiles;
import io.vstore.vdisk.vmdk.VmdkFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.function.LongConsumer;

/**
 * Writes an OVF package: an OVA (when the target's name ends in {@code .ova}) with its members in
 * the order descriptor → manifest → certificate → files, or an OVF directory. Disks are written as
 * streamOptimized VMDK straight from a {@link BlockDevice} (grains deflated on every core by
 * vdisk-formats' writer), through optional gzip and chunking, to their final place in the package,
 * digested on the way. No disk is written twice: the descriptor, which must come first but holds
 * the sizes known only at the end, goes into room reserved at the OVA's front (see {@link DescriptorSource}).
 */
public final class OvaWriter {
  /** The grain of the VMDKs written: a delta disk replaces its parent's data a whole grain at a time. */
  public static final int GRAIN = 64 * 1024;

  private OvaWriter() {}

  /** A file to put into the package. */
  public sealed interface Item permits Disk, Bytes, FileCopy, Raw {
    /** Returns the {@code ovf:id} of the file's References entry. */
    String id();

    /** Returns the file's name in the package. */
    String href();
  }

  /**
   * A disk written as a streamOptimized VMDK of {@code device}'s size.
   *
   * @param adapterType the VMDK's {@code ddb.adapterType} (ide, lsilogic, buslogic, legacyESX), null for lsilogic
   * @param delta whether the disk is a {@code parentRef} delta: then {@code device}'s holes are what
   *     the parent shows through (left out of the VMDK), its zeros hide the parent's data (written as
   *     zero grains), and every grain that holds anything must hold the whole grain's content
   */
  public record Disk(String id, String href, BlockDevice device, String adapterType, boolean delta) implements Item {
    /** Checks the arguments. */
    public Disk {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(href, "href");
      Objects.requireNonNull(device, "device");
    }

    /** A whole disk, not a delta. */
    public Disk(String id, String href, BlockDevice device, String adapterType) {
      this(id, href, device, adapterType, false);
    }
  }

  /** A small file given as bytes (an NVRAM image, a README). */
  public record Bytes(String id, String href, byte[] bytes) implements Item {
    /** Checks the arguments. */
    public Bytes {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(href, "href");
      bytes = bytes.clone();
    }
  }

  /** A file copied as it is (an ISO image). */
  public record FileCopy(String id, String href, Path path) implements Item {
    /** Checks the arguments. */
    public FileCopy {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(href, "href");
      Objects.requireNonNull(path, "path");
    }
  }

  /**
   * The first {@code length} bytes of {@code device} copied as they are: a file the inventory keeps in
   * a volume rounded up to 512 bytes (a VM's ISO image or NVRAM).
   */
  public record Raw(String id, String href, BlockDevice device, long length) implements Item {
    /** Checks the arguments. */
    public Raw {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(href, "href");
      Objects.requireNonNull(device, "device");
      Objects.checkFromIndexSize(0, length, device.size());
    }
  }

  /**
   * What the descriptor's References and DiskSection need about one written file.
   *
   * @param size the {@code ovf:size}: bytes in the package (all chunks; compressed when gzip)
   * @param chunkSize the {@code ovf:chunkSize}, or 0
   * @param compression {@code "gzip"} or null
   * @param capacity a disk's capacity in bytes, or -1 for other files
   * @param populatedSize a disk's bytes of data (what ovftool writes as {@code ovf:populatedSize}), or -1
   * @param format the DiskSection {@code ovf:format} URI for a disk, or null
   */
  public record Written(String id, String href, long size, long chunkSize, String compression, long capacity,
      long populatedSize, String format) {}

  /** The streamOptimized format URI a DiskSection names. */
  public static final String STREAM_OPTIMIZED =
      "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized";

  /**
   * Produces the descriptor for the written files. It is called twice: first, before any disk is
   * written, with every size and populated size at {@link Long#MAX_VALUE} (the widest number), to
   * learn how much room to reserve; then with the real values. The second result must not be
   * longer than the first (it cannot be, when only the numbers change). In an OVA the descriptor is
   * padded to its room with trailing whitespace, which XML ignores.
   */
  @FunctionalInterface
  public interface DescriptorSource {
    /** Returns the descriptor's bytes for {@code files} (by id, in the order given to the writer). */
    byte[] descriptor(Map<String, Written> files) throws IOException;
  }

  /**
   * How to write.
   *
   * @param digest the manifest's digest ({@code --sha1/--sha256/--sha512}), or null for no manifest
   * @param signer signs the manifest ({@code --sign}), or null
   * @param chunkSize split disk and copied files into members of this many bytes ({@code --chunk-size}), or 0
   * @param compress gzip disk and copied files ({@code --compress})
   */
  public record Options(DigestAlgorithm digest, PackageSigner signer, long chunkSize, boolean compress) {
    /** SHA256 manifest, unsigned, whole files, uncompressed: ovftool's defaults. */
    public static final Options DEFAULT = new Options(DigestAlgorithm.SHA256, null, 0, false);

    /** Checks the values. */
    public Options {
      if (chunkSize < 0 || chunkSize > 0 && chunkSize < TarHeader.BLOCK) {
        throw new IllegalArgumentException("chunk size " + chunkSize + " must be 0 (none) or at least " + TarHeader.BLOCK);
      }
      if (signer != null && digest == null) {
        throw new IllegalArgumentException("signing needs a manifest (a digest)");
      }
    }
  }

  /** What was written: the package's path, each file's values, and the manifest (null without one). */
  public record Result(Path target, Map<String, Written> files, Manifest manifest, long bytes) {}

  /**
   * Writes the package to {@code target} (which must not exist; a directory may exist empty):
   * an OVA when its name ends in {@code .ova}, else a directory. On failure nothing is left behind.
   *
   * @param descriptorName the descriptor's file name (ending in {@code .ovf}); the manifest and
   *     certificate take its base name
   * @param progress hears the bytes of source data covered so far (of all files together)
   */
  public static Result write(Path target, String descriptorName, DescriptorSource descriptor, List<Item> items,
      Options options, LongConsumer progress) throws IOException {
    if (!PackageNames.isDescriptor(descriptorName) || descriptorName.contains("/")) {
      throw new IllegalArgumentException("descriptor name '" + descriptorName + "' must be a plain name ending in .ovf");
    }
    String base = descriptorName.substring(0, descriptorName.length() - 4);
    String mfName = base + ".mf";
    String certName = base + ".cert";
    List<FileRef> refs = new ArrayList<>();
    java.util.Set<String> hrefs = new java.util.HashSet<>(List.of(descriptorName, mfName, certName));
    for (Item it : items) {
      String href = PackageNames.check(target.toString(), "href", it.href());
      if (!hrefs.add(href)) {
        throw new IllegalArgumentException("two files named '" + href
            + "' (or one named like the descriptor, manifest or certificate)");
      }
      boolean big = !(it instanceof Bytes);
      refs.add(new FileRef(it.id(), href, -1, big ? options.chunkSize() : 0, big && options.compress() ? "gzip" : null));
    }
    boolean ova = target.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".ova");

    // Reserve the front with the widest descriptor and the longest manifest and certificate.
    Map<String, Written> widest = new LinkedHashMap<>();
    List<String> maxMembers = new ArrayList<>(List.of(descriptorName));
    for (int i = 0; i < items.size(); i++) {
      Item it = items.get(i);
      FileRef r = refs.get(i);
      widest.put(it.id(), written(it, r, Long.MAX_VALUE, Long.MAX_VALUE));
      long bound = sizeBound(it, r);
      long chunks = r.chunked() ? Math.max(1, (bound + r.chunkSize() - 1) / r.chunkSize()) : 1;
      if (chunks > Manifest.MAX_ENTRIES) {
        throw new IllegalArgumentException(it.href() + " would be " + chunks + " chunks of " + r.chunkSize()
            + " bytes; choose a larger chunk size");
      }
      for (int c = 0; c < chunks; c++) {
        maxMembers.add(r.chunked() ? r.chunkName(c) : r.href());
      }
    }
    byte[] firstDescriptor = descriptor.descriptor(widest);
    long mfMax = options.digest() == null ? 0 : manifestLength(maxMembers, options.digest());
    long certMax = options.signer() == null ? 0 : options.signer().maxCertificateFileLength(options.digest(), mfName);
    long front = OvaOutput.frontLength(descriptorName, firstDescriptor.length)
        + (options.digest() == null ? 0 : OvaOutput.frontLength(mfName, mfMax))
        + (options.signer() == null ? 0 : OvaOutput.frontLength(certName, certMax));

    boolean success = false;
    try (PackageOutput out = ova ? new OvaOutput(target, front, options.digest())
        : new DirectoryOutput(target, options.digest())) {
      Map<String, Written> files = new LinkedHashMap<>();
      List<PackageOutput.MemberWriter> members = new ArrayList<>();
      long[] done = {0};
      for (int i = 0; i < items.size(); i++) {
        Item it = items.get(i);
        FileRef r = refs.get(i);
        ChunkSink chunks = new ChunkSink(out, r);
        ByteSink sink = r.gzip() ? new GzipSink(chunks) : chunks;
        long before = done[0];
        long populated = writeItem(it, sink, target, c -> progress.accept(before + c));
        done[0] += it instanceof Disk d ? d.device().size() : it instanceof Raw raw ? raw.length() : 0;
        progress.accept(done[0]);
        members.addAll(chunks.members());
        long size = chunks.members().stream().mapToLong(PackageOutput.MemberWriter::size).sum();
        files.put(it.id(), written(it, r, size, populated));
      }
      byte[] desc = descriptor.descriptor(files);
      SequencedMap<String, byte[]> frontMembers = new LinkedHashMap<>();
      if (ova) {
        long mfLength = options.digest() == null ? 0 : manifestLength(names(descriptorName, members), options.digest());
        long others = (options.digest() == null ? 0 : OvaOutput.frontLength(mfName, mfLength))
            + (options.signer() == null ? 0 : OvaOutput.frontLength(certName, certMax));
        long room = front - others - TarHeader.length(descriptorName, false);
        if (desc.length > room) {
          throw new IllegalStateException("the descriptor grew from " + firstDescriptor.length + " to " + desc.length
              + " bytes between the two calls; only its numbers may change");
        }
        desc = padWithWhitespace(desc, (int) room);
      }
      frontMembers.put(descriptorName, desc);
      Manifest manifest = null;
      if (options.digest() != null) {
        List<Manifest.Entry> entries = new ArrayList<>();
        String descHex = Manifest.hex(options.digest().newDigest().digest(desc));
        entries.add(new Manifest.Entry(descriptorName, options.digest(), descHex));
        for (PackageOutput.MemberWriter m : members) {
          entries.add(new Manifest.Entry(m.name(), options.digest(), m.hexDigest()));
        }
        manifest = Manifest.of(entries);
        byte[] mf = manifest.toBytes();
        frontMembers.put(mfName, mf);
        if (options.signer() != null) {
          byte[] cert = options.signer().certificateFile(options.digest(), mfName, mf);
          if (ova) {
            // An ECDSA signature is a few bytes shorter than its bound: fill the reserved length with newlines.
            cert = padWith(cert, (int) certMax, (byte) '\n');
          }
          frontMembers.put(certName, cert);
        }
      }
      out.writeFront(frontMembers);
      out.commit();
      success = true;
      long bytes = ova ? Files.size(target) : 0;
      return new Result(target, files, manifest, bytes);
    } finally {
      if (!success && ova) {
        Files.deleteIfExists(target);
      }
    }
  }

  private static List<String> names(String descriptorName, List<PackageOutput.MemberWriter> members) {
    List<String> out = new ArrayList<>();
    out.add(descriptorName);
    members.forEach(m -> out.add(m.name()));
    return out;
  }

  private static Written written(Item it, FileRef r, long size, long populated) {
    boolean disk = it instanceof Disk;
    return new Written(it.id(), r.href(), size, r.chunkSize(), r.compression(), disk ? ((Disk) it).device().size() : -1,
        disk ? populated : -1, disk ? STREAM_OPTIMIZED : null);
  }

  /** Returns the manifest's length for {@code members} (the first being the descriptor). */
  private static long manifestLength(List<String> members, DigestAlgorithm alg) {
    long n = 0;
    for (String m : members) {
      n += alg.name().length() + 1 + m.getBytes(StandardCharsets.UTF_8).length + 3 + alg.hexLength() + 1;
    }
    return n;
  }

  /** Returns the most bytes {@code it} can take in the package (to bound its chunk count). */
  private static long sizeBound(Item it, FileRef r) throws IOException {
    long raw = switch (it) {
      case Bytes b -> b.bytes().length;
      case FileCopy f -> Files.size(f.path());
      case Raw r2 -> r2.length();
      case Disk d -> {
        long grains = (d.device().size() + GRAIN - 1) / GRAIN;
        // Header, each grain stored uncompressed with its marker and sector padding, the tables and footer.
        yield 64 * 1024 + grains * (GRAIN + 1024) + (grains / 512 + 2) * 2560 + 4096;
      }
    };
    return r.gzip() ? raw + raw / 1000 + 1024 * 1024 : raw;
  }

  private static long writeItem(Item it, ByteSink sink, Path target, LongConsumer progress) throws IOException {
    switch (it) {
      case Bytes b -> {
        sink.write(ByteBuffer.wrap(b.bytes()));
        sink.finish();
        return -1;
      }
      case FileCopy f -> {
        try (InputStream in = Files.newInputStream(f.path())) {
          byte[] buf = new byte[1 << 20];
          long total = 0;
          for (int n; (n = in.read(buf)) > 0; ) {
            sink.write(ByteBuffer.wrap(buf, 0, n));
            total += n;
            progress.accept(total);
          }
        }
        sink.finish();
        return -1;
      }
      case Raw r -> {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(1 << 20, Math.max(1, r.length())));
        for (long off = 0; off < r.length(); ) {
          buf.clear().limit((int) Math.min(buf.capacity(), r.length() - off));
          r.device().read(off, buf);
          buf.flip();
          off += buf.remaining();
          sink.write(buf);
          progress.accept(off);
        }
        sink.finish();
        return -1;
      }
      case Disk d -> {
        return writeDisk(d, sink, target, progress);
      }
    }
  }

  /** Writes {@code d} as streamOptimized VMDK into {@code sink}; returns the bytes of data written. */
  private static long writeDisk(Disk d, ByteSink sink, Path target, LongConsumer progress) throws IOException {
    SinkChannel channel = new SinkChannel(sink, target + ":" + d.href());
    ChannelOpener opener = (path, opts) -> channel;
    // The writer names its file in the VMDK's own descriptor (the extent line): give it the href's name,
    // under a directory that does not exist, so that nothing is ever created or removed on disk.
    Path fake = target.toAbsolutePath().resolveSibling(".vstore-ova-member-" + System.nanoTime())
        .resolve(Path.of(d.href()).getFileName().toString());
    Map<String, String> opts = new LinkedHashMap<>();
    opts.put("subformat", "streamOptimized");
    opts.put("cache", "unsafe");
    opts.put("adapter_type", d.adapterType() == null ? "lsilogic" : d.adapterType());
    if (d.delta()) {
      opts.put("zeroed_grain", "on");
    }
    long populated;
    try (DiskImage vmdk = new VmdkFormat(new ImageFiles(opener)).create(fake, d.device().size(),
        new CreateOptions(opts, null, null), null)) {
      if (d.delta()) {
        populated = DeltaCopy.copy(d.device(), vmdk, progress);
      } else {
        ImageConversion.Result r = ImageConversion.copy(d.device(), vmdk, 1, GRAIN, true, progress);
        populated = r.bytesWritten();
      }
    }
    sink.finish();
    return populated;
  }

  private static byte[] padWithWhitespace(byte[] desc, int room) {
    if (desc.length == room) {
      return desc;
    }
    byte[] out = Arrays.copyOf(desc, room);
    Arrays.fill(out, desc.length, room, (byte) ' ');
    out[room - 1] = '\n';
    if (desc.length < room - 1) {
      out[desc.length] = '\n';
    }
    return out;
  }

  private static byte[] padWith(byte[] b, int length, byte fill) {
    if (b.length > length) {
      throw new IllegalStateException("certificate file of " + b.length + " bytes exceeds its bound " + length);
    }
    byte[] out = Arrays.copyOf(b, length);
    Arrays.fill(out, b.length, length, fill);
    return out;
  }
}
