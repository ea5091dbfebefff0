package io.vstore.ovf.pkg;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fuzzes the tar reader, the package checks and the streamOptimized disk reader: arbitrary bytes,
 * and a valid OVA (descriptor, manifest, a streamOptimized disk) with patched bytes, are read as a
 * stream and as a file. Only {@link IOException}s may come out, never an unchecked exception or an
 * allocation a header asked for.
 */
class OvaFuzzTest {
  private static byte[] template;
  private static List<FileRef> refs;

  private static synchronized byte[] template() {
    if (template == null) {
      try {
        Path d = Files.createTempDirectory("ova-fuzz-template");
        Path ova = d.resolve("t.ova");
        MemoryBlockDevice disk = Packages.disk("d", 256 << 10, 1);
        // Written as a delta: zeros become zero grains, so the grain tables and directory carry
        // something that the delta reader (applyDeltaTo, on the file) must parse.
        disk.writeZeroes(64 << 10, 64 << 10, false);
        OvaWriter.Result r = OvaWriter.write(ova, "t.ovf", Packages::descriptor,
            List.of(new OvaWriter.Disk("f1", "d.vmdk", disk, null, true)), OvaWriter.Options.DEFAULT, x -> { });
        template = Files.readAllBytes(ova);
        refs = Packages.refs(r.files());
        Files.delete(ova);
        Files.delete(d);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return template;
  }

  @FuzzTest(maxDuration = "20s")
  void anyBytesAreAPackageOrAPackageError(byte[] input) throws IOException {
    template();
    readStream(input);
    readFile(input);
  }

  @FuzzTest(maxDuration = "20s")
  void patchedOvas(FuzzedDataProvider data) throws IOException {
    byte[] ova = template().clone();
    int patches = data.consumeInt(1, 8);
    for (int i = 0; i < patches && data.remainingBytes() > 0; i++) {
      // Aim at the headers (first blocks of each member) more than at the disk's grains.
      int at = data.consumeBoolean() ? data.consumeInt(0, Math.min(4096, ova.length - 1)) : data.consumeInt(0, ova.length - 1);
      byte[] bytes = data.consumeBytes(data.consumeInt(1, 16));
      System.arraycopy(bytes, 0, ova, at, Math.min(bytes.length, ova.length - at));
    }
    if (data.consumeBoolean()) {
      ova = java.util.Arrays.copyOf(ova, data.consumeInt(0, ova.length));
    }
    readStream(ova);
    readFile(ova);
  }

  private static void readStream(byte[] input) {
    try (OvfPackage pkg = OvfPackage.open(new ByteArrayInputStream(input), "fuzz", SignaturePolicy.DEFAULT)) {
      readAll(pkg, false);
    } catch (IOException expected) {
      // a bad package: one line naming it
    }
  }

  private static void readFile(byte[] input) throws IOException {
    Path d = Files.createTempDirectory("ova-fuzz");
    Path f = d.resolve("f.ova");
    try {
      Files.write(f, input);
      try (OvfPackage pkg = OvfPackage.open(f, SignaturePolicy.DEFAULT)) {
        readAll(pkg, true);
      } catch (IOException expected) {
        // a bad package
      }
    } finally {
      Files.deleteIfExists(f);
      Files.delete(d);
    }
  }

  private static void readAll(OvfPackage pkg, boolean asDelta) throws IOException {
    pkg.expect(refs);
    for (PackageFile file; (file = pkg.next()) != null; ) {
      DiskReader r = DiskReader.open(file);
      long capacity = r.capacity();
      if (capacity >= 0 && capacity <= (8 << 20)) {
        MemoryBlockDevice target = new MemoryBlockDevice("fuzz", capacity);
        if (asDelta) {
          r.applyDeltaTo(target, x -> { });
        } else {
          r.copyTo(target, x -> { });
        }
      } else if (file.channel().isEmpty()) {
        try (InputStream in = file.stream()) {
          in.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (IllegalStateException alreadyOpened) {
          // DiskReader.open took the stream; next() drains it
        }
      }
    }
    pkg.finish();
  }
}
