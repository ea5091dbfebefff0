import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Build step of the command-line jar (run by the JDK's source launcher from cli/pom.xml, so it is
 * not part of the jar): rewrites the class files under a package of the jar that are older than
 * Java 6 as Java 8 class files, their stack maps computed by the JDK's class-file API.
 *
 * <p>Why: picocli is compiled for Java 5, and JDK 25's AOT cache cannot hold a class of that age
 * once it has been linked ("old class has been linked"), so every command parsed and verified its
 * ~170 picocli classes from the jar again (about 60-80 ms of CPU on the 2-core VM). Nothing but
 * the version and the stack maps changes; the JVM verifies the result with the type-checking
 * verifier when the AOT training run loads it, so a bad rewrite fails the build.
 *
 * <p>Usage: {@code java UpgradeClassVersions.java JAR PACKAGE_PREFIX} (for example {@code picocli/}).
 */
public final class UpgradeClassVersions {
  private static final int OLDEST_KEPT = 50; // Java 6: the first version the AOT cache can hold once linked

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      throw new IllegalArgumentException("usage: UpgradeClassVersions JAR PACKAGE_PREFIX");
    }
    Path jar = Path.of(args[0]);
    String prefix = args[1];
    Path out = jar.resolveSibling(jar.getFileName() + ".upgrading");
    int upgraded = 0;
    try (ZipFile in = new ZipFile(jar.toFile()); ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
      ClassHierarchyResolver fromJar = ClassHierarchyResolver.ofResourceParsing(desc -> open(in, desc.descriptorString()));
      ClassFile classFiles = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
          ClassFile.ClassHierarchyResolverOption.of(fromJar.orElse(ClassHierarchyResolver.defaultResolver())));
      ClassTransform toJava8 = (builder, element) -> {
        if (element instanceof ClassFileVersion) {
          builder.withVersion(ClassFile.JAVA_8_VERSION, 0);
        } else {
          builder.with(element);
        }
      };
      // Rebuilding every method body is what makes the API compute the stack maps Java 8 requires.
      ClassTransform upgrade = toJava8.andThen(ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL));
      for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements(); ) {
        ZipEntry entry = entries.nextElement();
        byte[] bytes;
        try (InputStream s = in.getInputStream(entry)) {
          bytes = s.readAllBytes();
        }
        if (entry.getName().startsWith(prefix) && entry.getName().endsWith(".class")) {
          ClassModel model = classFiles.parse(bytes);
          if (model.majorVersion() < OLDEST_KEPT) {
            bytes = classFiles.transformClass(model, upgrade);
            upgraded++;
          }
        }
        ZipEntry copy = new ZipEntry(entry.getName());
        copy.setTime(entry.getTime());
        zip.putNextEntry(copy);
        zip.write(bytes);
        zip.closeEntry();
      }
    }
    Files.move(out, jar, StandardCopyOption.REPLACE_EXISTING);
    System.out.println("UpgradeClassVersions: " + upgraded + " class files under " + prefix + " rewritten as Java 8");
  }

  /** Opens the class named by a descriptor ({@code Lpkg/Name;}) in the jar, or returns null when it is not there. */
  private static InputStream open(ZipFile jar, String descriptor) {
    String name = descriptor.substring(1, descriptor.length() - 1) + ".class";
    ZipEntry e = jar.getEntry(name);
    try {
      return e == null ? null : jar.getInputStream(e);
    } catch (IOException ex) {
      throw new UncheckedIOException(ex);
    }
  }
}
