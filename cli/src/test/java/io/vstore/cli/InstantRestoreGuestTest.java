package io.vstore.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.backup.instant.InstantRestore;
import io.vstore.backup.instant.PointSource;
import io.vstore.backup.instant.RestoreRecord;
import io.vstore.backup.repo.Repository;
import io.vstore.backup.repo.RepositoryOptions;
import io.vstore.backup.store.DirectoryStore;
import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.Extent;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.NbdServer;
import io.vstore.nbd.QemuGuestTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A QEMU guest (TCG) boots from an instant restore served over NBD while the copy runs: the boot
 * sector comes from the backup point, the guest writes a sector, reads it back and copies it. The
 * copy has started and its reads of the point are held until QEMU exits, so the guest provably ran
 * against the merged device (its writes merge with the point's chunk); then the copy finishes and the volume equals the point with the guest's two sectors.
 * Reuses nbd-server's {@link QemuGuestTest} boot sector.
 */
@Tag("slow")
final class InstantRestoreGuestTest {
  private static final int MIB = 1 << 20;
  @TempDir Path tmp;

  private CliRun ok(Path ds, String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "-D";
    all[args.length + 1] = ds.toString();
    CliRun r = CliRun.of(all);
    assertThat(r.exit()).as("vstore %s: %s", String.join(" ", args), r.err()).isZero();
    return r;
  }

  @Test
  void guestBootsFromTheInstantRestoreWhileTheCopyRuns() throws Exception {
    Assumptions.assumeTrue(installed("qemu-system-x86_64"),
        "qemu-system-x86_64 is not installed (Debian package qemu-system-x86; .ci/run installs it)");
    Path ds = tmp.resolve("ds");
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    long size = 48L * MIB;
    ok(ds, "datastore", "init");
    ok(ds, "volume", "create", "src", size + "");
    ok(ds, "volume", "write", "src", "0", Files.write(tmp.resolve("boot.bin"), QemuGuestTest.bootSector()).toString());
    byte[] filler = new byte[16 * MIB];
    new Random(5).nextBytes(filler);
    ok(ds, "volume", "write", "src", (8L * MIB) + "", Files.write(tmp.resolve("filler.bin"), filler).toString());
    try (DirectoryStore store = DirectoryStore.open(repo);
        Repository r = Repository.init(store, null, RepositoryOptions.defaults())) {
      assertThat(r.config().chunkSize()).isPositive();
    }
    String point = ok(ds, "backup", "create", "src", "--repo", repo.toString(), "--json").json().get(0).get("point")
        .get("id").asText();

    CountDownLatch guestDone = new CountDownLatch(1);
    AtomicInteger copyRuns = new AtomicInteger();
    try (Datastore store = Datastore.open(ds, DatastoreOptions.defaults())) {
      PointSource source = PointSource.open(repo.toString(), null, point);
      BlockDevice held = new HeldCopySource(source, copyRuns, guestDone);
      RestoreRecord record = InstantRestore.newRecord("dst", repo.toString(), point, "guest", null, false,
          source.chunkSize(), source.size());
      InstantRestore restore = InstantRestore.start(store, held, record);
      AtomicReference<Throwable> copyFailure = new AtomicReference<>();
      Thread copy = Thread.ofPlatform().start(() -> {
        try {
          restore.copy((d, t) -> { }, () -> false);
        } catch (Throwable t) {
          copyFailure.set(t);
        }
      });
      ExportRegistry registry = new ExportRegistry();
      registry.add(Export.of("guest", restore.device()));
      try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
        ProcessBuilder qemu = new ProcessBuilder("qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "32",
            "-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot", "-boot", "order=c",
            "-drive", "file=nbd://127.0.0.1:" + server.port() + "/guest,format=raw,if=ide,cache=writethrough",
            "-device", "isa-debug-exit,iobase=0x" + Integer.toHexString(QemuGuestTest.EXIT_PORT) + ",iosize=0x04");
        Process p = qemu.redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("QEMU finished").isTrue();
        int exit = p.exitValue();
        // The copy is still running: its first read of the point is held until now.
        assertThat(restore.device().isMerged()).as("copy still running while the guest ran").isTrue();
        assertThat(copyRuns.get()).as("copy runs before the guest ended").isGreaterThanOrEqualTo(1);
        guestDone.countDown();
        assertThat(exit).as("QEMU exit code (%d = guest ok); output: %s", (QemuGuestTest.GUEST_OK << 1) | 1, text)
            .isEqualTo((QemuGuestTest.GUEST_OK << 1) | 1);
        copy.join();
        assertThat(copyFailure.get()).isNull();
        assertThat(restore.device().isMerged()).isFalse();
        assertThat(InstantRestore.pending(ds)).isEmpty();

        registry.remove("guest");
        restore.device().close();
      } finally {
        guestDone.countDown();
      }
      try (BlockDevice volume = store.volume("dst", true)) {
        byte[] got = new byte[(int) size];
        volume.read(0, ByteBuffer.wrap(got));
        byte[] expected = new byte[(int) size];
        try (PointSource again = PointSource.open(repo.toString(), null, point)) {
          again.read(0, ByteBuffer.wrap(expected));
        }
        byte[] pattern = QemuGuestTest.pattern();
        System.arraycopy(pattern, 0, expected, (QemuGuestTest.PATTERN_SECTOR - 1) * QemuGuestTest.SECTOR, pattern.length);
        System.arraycopy(pattern, 0, expected, (QemuGuestTest.COPY_SECTOR - 1) * QemuGuestTest.SECTOR, pattern.length);
        for (int off = 0; off < size; off += 4096) {
          if (!Arrays.equals(got, off, off + 4096, expected, off, off + 4096)) {
            throw new AssertionError("the restored volume differs from the point plus the guest's writes at " + off);
          }
        }
      }
    }
  }

  private static boolean installed(String tool) {
    try {
      Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /**
   * The point, with the copy's reads (made on its reader thread) held until the guest is done; the
   * guest's reads pass.
   */
  private static final class HeldCopySource implements BlockDevice {
    private final BlockDevice inner;
    private final AtomicInteger copyRuns;
    private final CountDownLatch release;

    HeldCopySource(BlockDevice inner, AtomicInteger copyRuns, CountDownLatch release) {
      this.inner = inner;
      this.copyRuns = copyRuns;
      this.release = release;
    }

    @Override
    public long size() {
      return inner.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
      if (Thread.currentThread().getName().startsWith("instant-restore-read") && copyRuns.getAndIncrement() >= 0) {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("held copy read interrupted");
        }
      }
      inner.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws IOException {
      inner.write(offset, src);
    }

    @Override
    public void flush() throws IOException {
      inner.flush();
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
      inner.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public void discard(long offset, long length) throws IOException {
      inner.discard(offset, length);
    }

    @Override
    public List<Extent> allocation(long offset, long length) throws IOException {
      return inner.allocation(offset, length);
    }

    @Override
    public boolean isReadOnly() {
      return true;
    }

    @Override
    public void close() throws IOException {
      inner.close();
    }

    @Override
    public String toString() {
      return inner.toString();
    }
  }
}
