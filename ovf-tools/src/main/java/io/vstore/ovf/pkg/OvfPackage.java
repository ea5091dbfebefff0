package io.vstore.ovf.pkg;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An OVF package opened for reading: an OVA file (seekable), an OVA stream, or a descriptor with
 * the files of its directory. Opening reads the descriptor (which must be the OVA's first member),
 * then the manifest and certificate, checks the signature against a {@link SignaturePolicy}, and
 * checks the descriptor against the manifest. The caller parses the descriptor, passes the
 * References section to {@link #expect}, and takes the files with {@link #next} in package order
 * (the only order a stream allows) or, from a seekable package, with {@link #file} in any order;
 * {@link #finish} then reports files missing from the package and manifest entries with no file.
 *
 * <p>Nothing is extracted: members stream straight from the tar. Not thread-safe.
 */
public final class OvfPackage implements Closeable {
  /** Largest descriptor read into memory (ovftool's real ones stay under 1 MiB). */
  public static final int MAX_DESCRIPTOR = 16 << 20;

  private final PackageSource source;
  private final boolean seekable;
  private final Member descriptorMember;
  private final byte[] descriptor;
  private final Manifest manifest;
  private final String manifestName;
  private final SignatureCheck signature;
  private final List<String> warnings = new ArrayList<>();
  // Manifest entries whose file has not been met yet (streams) or verified.
  private final Set<String> unseenManifestEntries = new LinkedHashSet<>();

  private Map<String, FileRef> refsByMember; // first member name (href or its chunk 0) -> ref
  private List<FileRef> pendingRefs; // random access: refs not yet handed out by next(), in package order
  private final Set<String> delivered = new HashSet<>();
  private final Map<String, PackageFile> byId = new HashMap<>();
  private Member pending; // stream: a member read ahead and not yet handed out
  private PackageFile current; // stream: the file last handed out
  private boolean closed;

  private OvfPackage(PackageSource source, boolean seekable, Member descriptorMember, byte[] descriptor,
      String manifestName, byte[] manifestBytes, String certName, byte[] cert, SignaturePolicy policy) throws IOException {
    this.source = source;
    this.seekable = seekable;
    this.descriptorMember = descriptorMember;
    this.descriptor = descriptor;
    this.manifestName = manifestName;
    this.manifest = manifestBytes == null ? null : Manifest.parse(source.name() + ": " + manifestName, manifestBytes);
    if (manifest != null) {
      for (Manifest.Entry e : manifest.entries().values()) {
        e.algorithm().prime();
      }
    }
    if (cert != null) {
      if (manifest == null) {
        throw new PackageException("bad signature: " + source.name() + ": certificate " + certName
            + " but no manifest to sign");
      }
      this.signature = PackageSignature.verify(source.name(), certName, cert, manifestName, manifestBytes, policy);
      if (signature.status() == SignatureCheck.Status.UNTRUSTED) {
        if (policy.requireSignature()) {
          throw new PackageException("untrusted signature: " + source.name() + ": " + signature.detail());
        }
        warnings.add(signature.detail());
      }
    } else {
      this.signature = SignatureCheck.unsigned();
      if (policy.requireSignature()) {
        throw new PackageException("unsigned package: " + source.name() + " has no certificate (.cert) and a signature is required");
      }
    }
    if (manifest != null) {
      unseenManifestEntries.addAll(manifest.entries().keySet());
      Manifest.Entry e = manifestEntry(descriptorMember.name());
      VerifyingInputStream v = new VerifyingInputStream(new java.io.ByteArrayInputStream(descriptor), source.name(),
          descriptorMember.name(), descriptor.length, e, () -> verified(descriptorMember.name()));
      v.drain();
    }
  }

  /**
   * Opens the package at {@code path}: an OVA file, a {@code .ovf} descriptor (its directory holds
   * the files), or a directory holding exactly one descriptor.
   */
  public static OvfPackage open(Path path, SignaturePolicy policy) throws IOException {
    if (Files.isDirectory(path)) {
      List<Path> ovfs;
      try (Stream<Path> s = Files.list(path)) {
        ovfs = s.filter(p -> PackageNames.isDescriptor(p.getFileName().toString()) && Files.isRegularFile(p)).sorted().toList();
      }
      if (ovfs.size() != 1) {
        throw new PackageException("bad ova: " + path + ": " + (ovfs.isEmpty() ? "no descriptor (.ovf)"
            : ovfs.size() + " descriptors " + ovfs.stream().map(p -> p.getFileName().toString()).toList()
                + "; name the one to use"));
      }
      return openDirectory(ovfs.getFirst(), policy);
    }
    if (PackageNames.isDescriptor(path.getFileName().toString())) {
      return openDirectory(path, policy);
    }
    SeekableOvaSource src = SeekableOvaSource.open(path);
    try {
      return openRandom(src, true, policy);
    } catch (IOException | RuntimeException e) {
      src.close();
      throw e;
    }
  }

  private static OvfPackage openDirectory(Path descriptor, SignaturePolicy policy) throws IOException {
    return openRandom(DirectorySource.open(descriptor), false, policy);
  }

  private static OvfPackage openRandom(PackageSource src, boolean ova, SignaturePolicy policy) throws IOException {
    List<Member> members = src.members();
    Member desc = members.getFirst();
    List<String> early = new ArrayList<>();
    if (!PackageNames.isDescriptor(desc.name())) {
      List<Member> ovfs = members.stream().filter(m -> PackageNames.isDescriptor(m.name())).toList();
      if (ovfs.size() != 1) {
        throw new PackageException("bad ova: " + src.name() + ": the first member is '" + PackageNames.printable(desc.name())
            + "', not the descriptor (.ovf), and the archive holds " + ovfs.size() + " descriptors");
      }
      desc = ovfs.getFirst();
      early.add(src.name() + ": the descriptor " + desc.name() + " is not the first member, as OVF requires; read anyway"
          + " because the file is seekable (a stream or another tool may refuse it)");
    }
    String base = base(desc.name());
    Member mf = find(members, base + ".mf", ".mf", desc);
    Member cert = find(members, base + ".cert", ".cert", desc);
    OvfPackage p = new OvfPackage(src, true, desc, read(src, desc, MAX_DESCRIPTOR, "descriptor"),
        mf == null ? null : mf.name(), mf == null ? null : read(src, mf, Manifest.MAX_SIZE, "manifest"),
        cert == null ? null : cert.name(), cert == null ? null : read(src, cert, PackageSignature.MAX_CERT_FILE, "certificate"),
        policy);
    p.warnings.addAll(0, early);
    if (p.manifest != null) {
      Map<String, Member> byName = new HashMap<>();
      members.forEach(m -> byName.put(m.name(), m));
      for (String e : p.manifest.entries().keySet()) {
        if (member(src, byName, e) == null) {
          throw new PackageException("bad manifest: " + src.name() + ": " + p.manifestName + " lists '" + PackageNames.printable(e)
              + "', which is not in the package");
        }
      }
      if (ova) {
        for (Member m : members) {
          if (m != mf && m != cert) {
            p.requireListed(m.name());
          }
        }
      }
    }
    return p;
  }

  /** Returns the member called {@code exact}, else the only one ending in {@code ext}, else null. */
  private static Member find(List<Member> members, String exact, String ext, Member desc) {
    Member only = null;
    int count = 0;
    for (Member m : members) {
      if (m.name().equals(exact)) {
        return m;
      }
      if (m.name().toLowerCase(Locale.ROOT).endsWith(ext) && m.size() >= 0 && !m.name().contains("/")) {
        only = m;
        count++;
      }
    }
    return count == 1 ? only : null;
  }

  /**
   * Opens an OVA read once from {@code in} (a pipe, a download): the descriptor must be the first
   * member and the manifest and certificate, when present, must follow it directly (ovftool's order).
   * Its files are delivered by {@link #next} only; disks other than streamOptimized VMDK, raw and
   * gzip need a seekable OVA. Closing the package closes {@code in}.
   */
  public static OvfPackage open(InputStream in, String name, SignaturePolicy policy) throws IOException {
    StreamOvaSource src = new StreamOvaSource(in, name);
    try {
      Member desc = src.next();
      if (desc == null) {
        throw new PackageException("bad ova: " + name
            + ": the tar holds no files (empty, or truncated within its first header)");
      }
      if (!PackageNames.isDescriptor(desc.name())) {
        throw new PackageException("bad ova: " + name + ": the first member is '" + PackageNames.printable(desc.name())
            + "', not the descriptor (.ovf); OVF requires it first, and a stream cannot look further ahead");
      }
      byte[] d = read(src, desc, MAX_DESCRIPTOR, "descriptor");
      String base = base(desc.name());
      String mfName = null;
      String certName = null;
      byte[] mf = null;
      byte[] cert = null;
      Member m = src.next();
      while (m != null && (m.name().equals(base + ".mf") && mf == null || m.name().equals(base + ".cert") && cert == null)) {
        if (m.name().endsWith(".mf")) {
          mfName = m.name();
          mf = read(src, m, Manifest.MAX_SIZE, "manifest");
        } else {
          certName = m.name();
          cert = read(src, m, PackageSignature.MAX_CERT_FILE, "certificate");
        }
        m = src.next();
      }
      OvfPackage p = new OvfPackage(src, false, desc, d, mfName, mf, certName, cert, policy);
      p.pending = m;
      return p;
    } catch (IOException | RuntimeException e) {
      src.close();
      throw e;
    }
  }

  private static String base(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  private static byte[] read(PackageSource src, Member m, int max, String what) throws IOException {
    if (m.size() > max || m.size() < 0) {
      throw new PackageException("bad ova: " + src.name() + ": " + what + " " + PackageNames.printable(m.name()) + " is "
          + m.size() + " bytes, more than the " + max + " accepted");
    }
    try (InputStream in = src.open(m)) {
      byte[] b = in.readNBytes((int) m.size());
      if (b.length != m.size()) {
        throw new PackageException("bad ova: " + src.name() + ": " + what + " " + m.name() + " ends after " + b.length
            + " of its " + m.size() + " bytes (truncated)");
      }
      return b;
    }
  }

  /** Returns the package's name (its path, or the name given to a stream) for messages. */
  public String name() {
    return source.name();
  }

  /** Returns the descriptor's file name in the package. */
  public String descriptorName() {
    return descriptorMember.name();
  }

  /** Returns the descriptor's bytes (already checked against the manifest when there is one). */
  public byte[] descriptor() {
    return descriptor.clone();
  }

  /** Returns the manifest, if the package has one. */
  public Optional<Manifest> manifest() {
    return Optional.ofNullable(manifest);
  }

  /** Returns what the check of the certificate found. */
  public SignatureCheck signature() {
    return signature;
  }

  /** Returns whether files can be taken in any order and opened as channels (a file or directory, not a stream). */
  public boolean seekable() {
    return seekable;
  }

  /** Returns the warnings so far: descriptor not first, untrusted signature, unreferenced members, size mismatches. */
  public List<String> warnings() {
    return Collections.unmodifiableList(warnings);
  }

  /**
   * Declares the files the descriptor references. Checks each href (relative, inside the package,
   * no links), refuses duplicates and, for a seekable package, files (or chunks) it does not hold.
   */
  public void expect(List<FileRef> refs) throws IOException {
    checkOpen();
    if (refsByMember != null) {
      throw new IllegalStateException(name() + ": the references were already given");
    }
    Map<String, FileRef> byMember = new LinkedHashMap<>();
    Set<String> ids = new HashSet<>();
    Set<String> hrefs = new HashSet<>();
    for (FileRef r : refs) {
      String href = PackageNames.check(name(), "href of file " + PackageNames.printable(r.id()), r.href());
      FileRef ref = href.equals(r.href()) ? r : new FileRef(r.id(), href, r.size(), r.chunkSize(), r.compression());
      if (!ids.add(ref.id())) {
        throw new PackageException("bad ova: " + name() + ": file id '" + PackageNames.printable(ref.id()) + "' appears twice");
      }
      if (!hrefs.add(href)) {
        throw new PackageException("bad ova: " + name() + ": two files reference '" + PackageNames.printable(href) + "'");
      }
      if (href.equals(descriptorMember.name()) || href.equals(manifestName)) {
        throw new PackageException("bad ova: " + name() + ": file " + ref.id() + " references the package's own " + href);
      }
      byMember.put(ref.chunked() ? ref.chunkName(0) : href, ref);
    }
    refsByMember = byMember;
    if (seekable) {
      Map<String, Member> members = new HashMap<>();
      Map<String, Integer> order = new HashMap<>();
      List<Member> all = source.members();
      for (int i = 0; i < all.size(); i++) {
        members.put(all.get(i).name(), all.get(i));
        order.put(all.get(i).name(), i);
      }
      List<FileRef> sorted = new ArrayList<>();
      for (Map.Entry<String, FileRef> e : byMember.entrySet()) {
        FileRef ref = e.getValue();
        if (member(source, members, e.getKey()) == null) {
          throw new PackageException("bad ova: " + name() + ": file '" + PackageNames.printable(e.getKey()) + "' (id " + ref.id()
              + ") referenced by the descriptor is not in the package");
        }
        List<Member> parts = new ArrayList<>();
        if (ref.chunked()) {
          for (int i = 0; i < Manifest.MAX_ENTRIES && member(source, members, ref.chunkName(i)) != null; i++) {
            parts.add(member(source, members, ref.chunkName(i)));
          }
        } else {
          parts.add(member(source, members, e.getKey()));
        }
        for (Member m : parts) {
          if (m.size() < 0) {
            throw new PackageException("bad ova: " + name() + ": file '" + PackageNames.printable(m.name())
                + "' is a symbolic link; packages hold plain files only");
          }
          requireListed(m.name());
        }
        checkSize(ref, parts.stream().mapToLong(Member::size).sum());
        byId.put(ref.id(), new PackageFile(this, ref, parts));
        sorted.add(ref);
      }
      if (source instanceof SeekableOvaSource) {
        // The archive's order reads it front to back; a directory keeps the descriptor's order.
        sorted.sort(Comparator.comparing(r -> order.get(r.chunked() ? r.chunkName(0) : r.href())));
      }
      pendingRefs = sorted;
    }
  }

  /** Returns member {@code name}: listed, or (a directory) looked up on disk; null when absent. */
  private static Member member(PackageSource src, Map<String, Member> listed, String name) throws IOException {
    Member m = listed.get(name);
    if (m == null && src instanceof DirectorySource d) {
      m = d.lookup(name);
      if (m != null) {
        listed.put(name, m);
      }
    }
    return m;
  }

  private void checkSize(FileRef ref, long stored) {
    if (ref.size() >= 0 && ref.size() != stored) {
      warnings.add(name() + ": file " + ref.href() + " takes " + stored + " bytes in the package, the descriptor's ovf:size says "
          + ref.size());
    }
  }

  private void requireListed(String member) throws PackageException {
    if (manifest != null && manifest.entry(member) == null) {
      throw new PackageException("bad manifest: " + name() + ": " + manifestName + " does not list '"
          + PackageNames.printable(member) + "'");
    }
  }

  /**
   * Returns the next referenced file in package order, or null when all were handed out (a
   * stream: the archive ended). From a stream, the previous file's rest is read and verified first,
   * and members the descriptor does not reference are read, verified and skipped with a warning.
   */
  public PackageFile next() throws IOException {
    checkOpen();
    if (refsByMember == null) {
      throw new IllegalStateException(name() + ": call expect() with the descriptor's references first");
    }
    if (seekable) {
      return pendingRefs.isEmpty() ? null : deliver(pendingRefs.removeFirst());
    }
    if (current != null) {
      current.drain();
      current = null;
    }
    while (true) {
      Member m = pending != null ? pending : source.next();
      pending = null;
      if (m == null) {
        return null;
      }
      requireListed(m.name());
      FileRef ref = refsByMember.get(m.name());
      if (ref != null && !delivered.contains(ref.id())) {
        PackageFile f = new PackageFile(this, ref, new ArrayList<>(List.of(m)));
        byId.put(ref.id(), f);
        delivered.add(ref.id());
        current = f;
        return f;
      }
      if (PackageNames.isManifest(m.name()) || PackageNames.isCertificate(m.name())) {
        throw new PackageException("bad ova: " + name() + ": " + m.name() + " comes after the files; a stream needs the manifest"
            + " and certificate right after the descriptor (open the OVA as a file to read it anyway)");
      }
      if (isLaterChunk(m.name())) {
        throw new PackageException("bad ova: " + name() + ": chunk " + m.name() + " out of order");
      }
      warnings.add(name() + ": member " + PackageNames.printable(m.name()) + " is not referenced by the descriptor; skipped");
      try (InputStream in = source.open(m)) {
        new PackageFile(this, FileRef.plain("-", m.name(), m.size()), List.of(m)).verifying(in, m).drain();
      }
    }
  }

  private boolean isLaterChunk(String member) {
    int dot = member.lastIndexOf('.');
    if (dot < 0 || !member.substring(dot + 1).matches("[0-9]{9}")) {
      return false;
    }
    FileRef r = refsByMember.get(member.substring(0, dot) + ".000000000");
    return r != null && r.chunked();
  }

  /** The members of a streamed file: its first, then (chunked) each following chunk as the tar reaches it. */
  Enumeration<InputStream> streamParts(PackageFile f) throws IOException {
    Member first = f.members().getFirst();
    InputStream firstIn = f.verifying(source.open(first), first);
    return new Enumeration<>() {
      private InputStream next = firstIn;
      private int index;
      private boolean ended;

      @Override
      public boolean hasMoreElements() {
        if (next != null) {
          return true;
        }
        if (ended || !f.ref().chunked() || current != f) {
          return false;
        }
        try {
          Member m = source.next();
          if (m != null && m.name().equals(f.ref().chunkName(index + 1))) {
            requireListed(m.name());
            index++;
            f.addMember(m);
            next = f.verifying(source.open(m), m);
            return true;
          }
          pending = m;
          ended = true;
          checkSize(f.ref(), f.members().stream().mapToLong(Member::size).sum());
          return false;
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }

      @Override
      public InputStream nextElement() {
        if (!hasMoreElements()) {
          throw new NoSuchElementException();
        }
        InputStream n = next;
        next = null;
        return n;
      }
    };
  }

  private PackageFile deliver(FileRef ref) {
    delivered.add(ref.id());
    return byId.get(ref.id());
  }

  /** Returns the file with {@code ovf:id} {@code id} from a seekable package, in any order. */
  public PackageFile file(String id) {
    checkOpen();
    if (!seekable) {
      throw new IllegalStateException(name() + ": a stream delivers its files in order through next()");
    }
    PackageFile f = byId.get(id);
    if (f == null) {
      throw new IllegalArgumentException(name() + ": no file with id '" + id + "' was declared");
    }
    return f;
  }

  /**
   * Checks the package once the caller is done: for a stream, reads the rest of the archive
   * (verifying it), then fails if a referenced file never came or a manifest entry had no file.
   */
  public void finish() throws IOException {
    checkOpen();
    if (!seekable) {
      if (refsByMember == null) {
        expect(List.of());
      }
      while (next() != null) {
        // each remaining file is drained and verified by the following next()
      }
      for (FileRef r : refsByMember.values()) {
        if (!delivered.contains(r.id())) {
          throw new PackageException("bad ova: " + name() + ": file '" + PackageNames.printable(r.href()) + "' (id " + r.id()
              + ") referenced by the descriptor is not in the package");
        }
      }
      for (String e : unseenManifestEntries) {
        throw new PackageException("bad manifest: " + name() + ": " + manifestName + " lists '" + PackageNames.printable(e)
            + "', which is not in the package");
      }
    }
  }

  Manifest.Entry manifestEntry(String member) throws PackageException {
    if (manifest == null) {
      return null;
    }
    requireListed(member);
    return manifest.entry(member);
  }

  void verified(String member) {
    unseenManifestEntries.remove(member);
  }

  PackageSource source() {
    return source;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException(name() + ": the package is closed");
    }
  }

  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      source.close();
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
