package io.vstore.ovf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import io.vstore.engine.Inventory;
import io.vstore.engine.VirtualMachine;
import io.vstore.ovf.pkg.DigestAlgorithm;
import io.vstore.ovf.pkg.SignaturePolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linked clones exported as {@code parentRef} deltas and imported back: every byte of every clone's
 * view survives, the zeros and discards that hide the parent's data included.
 */
class OvfDeltaTest {
  private static final int DISK = 4 << 20;
  private static final int GRAIN = 64 * 1024;
  private static final boolean CI = "true".equals(System.getenv("CI"));
  @TempDir Path tmp;
  private Datastore store;
  private Inventory inv;

  @BeforeEach
  void open() throws IOException {
    store = OvfImportExportTest.newStore(tmp.resolve("ds"));
    inv = Inventory.open(store);
  }

  @AfterEach
  void close() throws IOException {
    store.close();
  }

  /** A VM whose one disk is random data in most grains, snapshotted as {@code gold}, and a pool of clones of it. */
  private void poolOverRandomBase(Random r, int desktops) throws IOException {
    VirtualMachine vm = inv.vms().create("src", List.of((long) DISK), null);
    try (Volume v = store.volume(vm.disks().getFirst())) {
      byte[] b = new byte[GRAIN];
      for (long off = 0; off < DISK; off += GRAIN) {
        if (r.nextInt(4) != 0) {
          r.nextBytes(b);
          v.write(off, ByteBuffer.wrap(b));
        }
      }
      v.flush();
    }
    inv.vms().snapshot("src", "gold", "base");
    inv.pools().create("lab", "src", "gold", desktops, 0, 0);
  }

  /** Applies {@code steps} random writes, zero writes, written zeros and discards to {@code volume}; returns their log. */
  private static List<String> scribble(Volume v, Random r, int steps) throws IOException {
    List<String> log = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      // Sector-aligned ranges from a sector to three grains, so grains are often only partly covered.
      long off = (long) r.nextInt(DISK / 512) * 512;
      int len = (int) Math.min(DISK - off, 512L * (1 + r.nextInt(3 * GRAIN / 512)));
      int op = r.nextInt(4);
      switch (op) {
        case 0 -> {
          byte[] b = new byte[len];
          r.nextBytes(b);
          v.write(off, ByteBuffer.wrap(b));
        }
        case 1 -> v.write(off, ByteBuffer.wrap(new byte[len]));
        case 2 -> v.writeZeroes(off, len, r.nextBoolean());
        default -> v.discard(off, len);
      }
      log.add(i + ":" + new String[] {"write", "zero-data", "write-zeroes", "discard"}[op] + "@" + off + "+" + len);
    }
    v.flush();
    return log;
  }

  private byte[] bytes(String volume) throws IOException {
    return OvfImportExportTest.bytes(store, volume);
  }

  private void exportAndImport(String pool, Path ova, String as) throws IOException {
    OvfExport.run(inv, new OvfExport.Request(pool, ova, DigestAlgorithm.SHA256, null, 0, false, OvfVersion.V1), x -> { });
    try (OvfImport imp = OvfImport.prepare(inv, new OvfImport.Request(ova, as, null, Map.of(), Map.of(), true,
        SignaturePolicy.DEFAULT))) {
      imp.run(x -> { });
    }
  }

  @Test
  void clonesWithRandomWritesZerosAndDiscardsOverTheParentRoundTripByteForByte() throws Exception {
    int seeds = CI ? 3 : 6;
    long first = new Random().nextLong();
    for (int s = 0; s < seeds; s++) {
      long seed = first + s;
      close();
      tmp.resolve("ds").toFile().renameTo(tmp.resolve("ds-" + s).toFile());
      open();
      Random r = new Random(seed);
      poolOverRandomBase(r, 2);
      List<List<String>> logs = new ArrayList<>();
      for (int d = 1; d <= 2; d++) {
        try (Volume v = store.volume("lab-" + d + "-disk0")) {
          logs.add(scribble(v, r, 10 + r.nextInt(30)));
        }
      }
      exportAndImport("lab", tmp.resolve("lab-" + s + ".ova"), "copy");
      for (int d = 1; d <= 2; d++) {
        byte[] want = bytes("lab-" + d + "-disk0");
        byte[] got = bytes("copy-lab-" + d + "-disk0");
        int at = Arrays.mismatch(want, got);
        assertThat(at).as("seed %d, desktop %d: first differing byte %d (grain %d) after steps %s", seed, d, at,
            at / GRAIN, logs.get(d - 1)).isEqualTo(-1);
      }
    }
  }

  @Test
  void deltasImportAsLinkedClonesOfOneBaseVmThatShareItsBlocks() throws Exception {
    Random r = new Random(11);
    poolOverRandomBase(r, 3);
    for (int d = 1; d <= 3; d++) {
      try (Volume v = store.volume("lab-" + d + "-disk0")) {
        scribble(v, r, 5);
      }
    }
    exportAndImport("lab", tmp.resolve("lab.ova"), "copy");
    assertThat(inv.vms().get("copy-base").snapshots()).extracting(s -> s.name()).containsExactly(OvfImport.BASE_SNAPSHOT);
    String baseDisk = inv.vms().get("copy-base").disks().getFirst();
    long shared = store.volumeInfo(baseDisk).allocated();
    long deltas = 0;
    for (int d = 1; d <= 3; d++) {
      String disk = inv.vms().get("copy-lab-" + d).disks().getFirst();
      assertThat(store.volumeInfo(disk).parent()).isEqualTo(baseDisk + "@" + OvfImport.BASE_SNAPSHOT);
      assertThat(Arrays.mismatch(bytes(disk), bytes("lab-" + d + "-disk0"))).as("desktop " + d).isEqualTo(-1);
      deltas += store.volumeInfo(disk).allocated();
    }
    // Sharing kept: the base once plus three small deltas, not three copies of the base.
    assertThat(shared).isGreaterThan(2L << 20);
    assertThat(deltas).isLessThan(shared);
    assertThatThrownBy(() -> inv.vms().delete("copy-base")).hasMessageContaining("linked clone");
  }

  @Test
  void zerosAndDiscardsOverParentDataSurviveTheRoundTrip() throws Exception {
    poolOverRandomBase(new Random(1), 1);
    try (Volume v = store.volume("lab-1-disk0")) {
      v.writeZeroes(0, 3 * GRAIN, false); // whole grains of zeros
      v.discard(5 * GRAIN + 4096, 8192); // part of a grain
      v.write(9 * GRAIN, ByteBuffer.wrap(new byte[GRAIN])); // a grain written as zeros
      v.flush();
    }
    exportAndImport("lab", tmp.resolve("lab.ova"), "copy");
    byte[] want = bytes("lab-1-disk0");
    assertThat(Arrays.copyOf(want, 3 * GRAIN)).containsOnly(0);
    assertThat(Arrays.mismatch(want, bytes("copy-disk0"))).isEqualTo(-1);
    qemuReadsTheDeltaOverItsBaseAs(tmp.resolve("lab.ova"), want);
  }

  /**
   * qemu-img's reading of the exported delta over its base: check passes, and with the base named as
   * its parent (an OVF package links them with ovf:parentRef; here the delta's embedded descriptor
   * is given {@code parentFileNameHint} and the base's CID) compare finds it identical to the clone.
   * (A text descriptor naming the delta as an extent would not do: qemu reads a streamOptimized
   * extent's footer only in a single-file VMDK.)
   */
  private void qemuReadsTheDeltaOverItsBaseAs(Path ova, byte[] clone) throws Exception {
    Assumptions.assumeTrue(OvfImportExportTest.hasQemuImg(), "qemu-img is not installed");
    Path dir = Files.createDirectories(tmp.resolve("extracted"));
    OvfImportExportTest.run(dir, "tar", "xf", ova.toString());
    Path base;
    Path delta;
    try (var files = Files.list(dir)) {
      List<Path> vmdks = files.filter(p -> p.toString().endsWith(".vmdk")).sorted().toList();
      base = vmdks.stream().filter(p -> p.getFileName().toString().startsWith("base-")).findFirst().orElseThrow();
      delta = vmdks.stream().filter(p -> !p.equals(base)).findFirst().orElseThrow();
    }
    OvfImportExportTest.run(dir, "qemu-img", "check", delta.getFileName().toString());
    Matcher cid = Pattern.compile("\nCID=([0-9a-fA-F]+)").matcher(embeddedDescriptor(base));
    assertThat(cid.find()).as("CID in " + base).isTrue();
    byte[] d = Files.readAllBytes(delta);
    ByteBuffer h = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
    int at = (int) h.getLong(28) * 512;
    int room = (int) h.getLong(36) * 512;
    byte[] text = embeddedDescriptor(delta).replace("parentCID=ffffffff", "parentCID=" + cid.group(1)
        + "\nparentFileNameHint=\"" + base.getFileName() + "\"").getBytes(StandardCharsets.US_ASCII);
    assertThat(text.length).isLessThan(room);
    Arrays.fill(d, at, at + room, (byte) 0);
    System.arraycopy(text, 0, d, at, text.length);
    Files.write(dir.resolve("chain.vmdk"), d);
    Files.write(dir.resolve("clone.raw"), clone);
    String map = OvfImportExportTest.run(dir, "qemu-img", "map", "--output=json", "chain.vmdk");
    assertThat(map).as("the delta holds zero grains and leaves grains to its base").contains("\"depth\": 0")
        .contains("\"depth\": 1");
    OvfImportExportTest.run(dir, "qemu-img", "compare", "-f", "vmdk", "-F", "raw", "chain.vmdk", "clone.raw");
  }

  private static String embeddedDescriptor(Path vmdk) throws IOException {
    byte[] d = Files.readAllBytes(vmdk);
    ByteBuffer h = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
    int at = (int) h.getLong(28) * 512;
    int room = (int) h.getLong(36) * 512;
    String text = new String(d, at, room, StandardCharsets.US_ASCII);
    int end = text.indexOf('\0');
    return end < 0 ? text : text.substring(0, end);
  }
}
