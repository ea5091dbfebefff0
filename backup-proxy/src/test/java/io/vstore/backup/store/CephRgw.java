package io.vstore.backup.store;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.ObjectLockEnabled;
import software.amazon.awssdk.services.s3.model.ObjectLockRetentionMode;

/**
 * A real Ceph RADOS Gateway for the tests: started once per test run (the first test class that
 * uses this extension starts it) from {@code src/test/scripts/ceph-rgw-start.sh} into a temporary
 * directory on free loopback ports, and stopped (by its recorded PIDs) when the run ends.
 *
 * <p>Without the ceph packages the classes using it are skipped with the reason, except under
 * {@code CI=true}, where they fail: CI installs the packages and must run these tests.
 */
public final class CephRgw implements BeforeAllCallback {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(CephRgw.class);
  private static final AtomicInteger BUCKETS = new AtomicInteger();
  private static volatile Server server;
  private static volatile String unavailable;

  @Override
  public void beforeAll(ExtensionContext context) {
    synchronized (CephRgw.class) {
      if (server == null && unavailable == null) {
        try {
          Server s = Server.start();
          context.getRoot().getStore(NAMESPACE).put("server", s);
          server = s;
        } catch (MissingPackagesException e) {
          unavailable = e.getMessage();
        } catch (IOException e) {
          unavailable = "Ceph RGW did not start: " + e.getMessage();
          throw new IllegalStateException(unavailable, e);
        }
      }
    }
    if (server == null) {
      if ("true".equals(System.getenv("CI"))) {
        throw new IllegalStateException(unavailable + " (mandatory under CI=true: .ci/run installs them)");
      }
      Assumptions.abort(unavailable);
    }
  }

  /** Returns the running gateway; only after {@link #beforeAll} let the class run. */
  public static Server server() {
    Server s = server;
    if (s == null) {
      throw new IllegalStateException("Ceph RGW is not running: " + unavailable);
    }
    return s;
  }

  private static final class MissingPackagesException extends IOException {
    private static final long serialVersionUID = 1L;

    MissingPackagesException(String message) {
      super(message);
    }
  }

  /** The kinds of bucket the tests make. */
  public enum BucketKind {
    PLAIN, VERSIONED, OBJECT_LOCKED
  }

  /** A running gateway: its S3 settings, and buckets made for tests. */
  public static final class Server implements ExtensionContext.Store.CloseableResource {
    private final Path dir;
    private final Path scripts;
    private final S3Settings settings;
    private final S3Client admin;

    private Server(Path dir, Path scripts, S3Settings settings) {
      this.dir = dir;
      this.scripts = scripts;
      this.settings = settings;
      this.admin = S3Store.newClient(settings);
    }

    static Server start() throws IOException {
      for (String tool : new String[] {"ceph-mon", "ceph-osd", "radosgw", "curl"}) {
        if (!onPath(tool)) {
          throw new MissingPackagesException("ceph packages absent (" + tool
              + " not on PATH): apt-get install -y ceph-mon ceph-osd radosgw curl to run the S3 tests");
        }
      }
      Path scripts = Path.of(System.getProperty("basedir", ".")).resolve("src/test/scripts").toAbsolutePath();
      Path dir = Files.createTempDirectory("vstore-rgw-");
      Files.delete(dir);   // the script wants to create it
      Map<String, String> env = new HashMap<>();
      env.put("RGW_PORT", Integer.toString(freePort()));
      env.put("MON_PORT", Integer.toString(freePort()));
      run(scripts.resolve("ceph-rgw-start.sh"), env, Duration.ofSeconds(180), dir.toString());
      Map<String, String> vars = new HashMap<>();
      for (String line : Files.readAllLines(dir.resolve("s3.env"), StandardCharsets.UTF_8)) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          vars.put(line.substring(0, eq), line.substring(eq + 1));
        }
      }
      vars.put(S3Settings.ENDPOINT_VARIABLE, vars.get("S3_ENDPOINT"));
      S3Settings settings = S3Settings.fromEnvironment(vars)
          .withLimits(Duration.ofSeconds(5), Duration.ofSeconds(60), 5);
      return new Server(dir, scripts, settings);
    }

    /** Returns the settings that reach this gateway with the test user's keys. */
    public S3Settings settings() {
      return settings;
    }

    /** Returns the variables {@link S3Settings#fromEnvironment} and {@link ObjectStores} read. */
    public Map<String, String> environment() {
      return Map.of(S3Settings.ENDPOINT_VARIABLE, settings.endpoint().toString(),
          "AWS_ACCESS_KEY_ID", settings.accessKeyId(), "AWS_SECRET_ACCESS_KEY", settings.secretAccessKey(),
          "AWS_REGION", settings.region());
    }

    /** Returns a client for what the store does not do (making buckets, reading versions). */
    public S3Client admin() {
      return admin;
    }

    /**
     * Creates a new bucket of that kind; an object-locked one retains every object for {@code
     * retentionDays} (GOVERNANCE mode) by default.
     */
    public String createBucket(BucketKind kind, int retentionDays) {
      String name = "vstore-test-" + ProcessHandle.current().pid() + "-" + BUCKETS.incrementAndGet();
      admin.createBucket(b -> b.bucket(name).objectLockEnabledForBucket(kind == BucketKind.OBJECT_LOCKED));
      if (kind == BucketKind.VERSIONED) {
        admin.putBucketVersioning(b -> b.bucket(name)
            .versioningConfiguration(v -> v.status(BucketVersioningStatus.ENABLED)));
      }
      if (kind == BucketKind.OBJECT_LOCKED) {
        admin.putObjectLockConfiguration(b -> b.bucket(name).objectLockConfiguration(c -> c
            .objectLockEnabled(ObjectLockEnabled.ENABLED)
            .rule(r -> r.defaultRetention(d -> d.mode(ObjectLockRetentionMode.GOVERNANCE).days(retentionDays)))));
      }
      return name;
    }

    @Override
    public void close() throws IOException {
      admin.close();
      run(scripts.resolve("ceph-rgw-stop.sh"), Map.of(), Duration.ofSeconds(60), dir.toString(), "--purge");
    }

    private static void run(Path script, Map<String, String> env, Duration timeout, String... args)
        throws IOException {
      String[] cmd = new String[args.length + 2];
      cmd[0] = "bash";
      cmd[1] = script.toString();
      System.arraycopy(args, 0, cmd, 2, args.length);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
      pb.environment().putAll(env);
      Path log = Files.createTempFile("vstore-rgw-script-", ".log");
      pb.redirectOutput(log.toFile());
      Process p = pb.start();
      try {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          throw new IOException(script.getFileName() + " did not finish in " + timeout + ": "
              + Files.readString(log));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
        throw new IOException("interrupted", e);
      }
      String out = Files.readString(log);
      Files.deleteIfExists(log);
      System.out.print(out);
      if (p.exitValue() != 0) {
        throw new IOException(script.getFileName() + " failed (exit " + p.exitValue() + "): " + out);
      }
    }

    private static boolean onPath(String tool) {
      for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
        if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) {
          return true;
        }
      }
      // radosgw and ceph-osd live in /usr/bin, but be lenient with a PATH that lacks sbin dirs.
      return Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/usr/sbin", tool));
    }

    private static int freePort() throws IOException {
      try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      }
    }

    @Override
    public String toString() {
      return "Ceph RGW at " + settings.endpoint() + " (" + dir + ")";
    }
  }
}
