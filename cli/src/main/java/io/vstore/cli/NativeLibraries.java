package io.vstore.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import org.rocksdb.util.Environment;

/**
 * Copies, at package time, the native libraries of RocksDB and lz4 for this platform out of their
 * jars into a directory that the {@code vstore} launcher puts on {@code java.library.path}. Both
 * libraries try {@code System.loadLibrary} before anything else; otherwise every command wrote
 * RocksDB's 15 MB library (and lz4's) to a new temporary file and ran {@code ldd} in a child
 * process to tell glibc from musl, a fifth of a short command's CPU time. The answer to that
 * question is kept in {@value #MUSL_FILE}, for the launcher to hand to RocksDB as
 * {@code ROCKSDB_MUSL_LIBC}. Not a user command.
 */
final class NativeLibraries {
  /** The file, in the output directory, that says "true" or "false": whether this system's C library is musl. */
  static final String MUSL_FILE = "rocksdb-musl";

  private NativeLibraries() {}

  /** Copies the libraries into the directory {@code args[0]} (created if needed). */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      throw new IllegalArgumentException("usage: NativeLibraries DIRECTORY, not " + args.length + " arguments");
    }
    Path dir = Files.createDirectories(Path.of(args[0]));
    // RocksDB names its library for the platform, libc included ("librocksdbjni-linux64.so").
    copy("/" + Environment.getJniLibraryFileName("rocksdb"), dir.resolve(System.mapLibraryName("rocksdbjni")));
    Files.writeString(dir.resolve(MUSL_FILE), Boolean.toString(Environment.isMuslLibc()));
    // lz4-java keeps its libraries under net/jpountz/util/OS/ARCH/.
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String lz4Os = os.contains("linux") ? "linux" : os.contains("mac") ? "darwin" : null;
    if (lz4Os != null) {
      copy("/net/jpountz/util/" + lz4Os + "/" + System.getProperty("os.arch") + "/" + System.mapLibraryName("lz4-java"),
          dir.resolve(System.mapLibraryName("lz4-java")));
    }
  }

  /** Copies the class path resource {@code name} to {@code target}; a platform without it keeps the libraries' own loading. */
  private static void copy(String name, Path target) throws IOException {
    try (InputStream in = NativeLibraries.class.getResourceAsStream(name)) {
      if (in == null) {
        System.err.println("vstore native libraries: no " + name + " for this platform; it is loaded from its jar");
        Files.deleteIfExists(target);
        return;
      }
      // Through a temporary file: a command starting now must not load a half-written library.
      Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
      try {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
  }
}
