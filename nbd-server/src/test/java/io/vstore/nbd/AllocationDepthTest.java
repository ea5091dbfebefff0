package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qemu:allocation-depth} of datastore volumes read by the real clients: a two-level linked
 * clone and a snapshot view, by hand-worked depth maps and against qemu-nbd serving the same chain
 * built as qcow2 overlays.
 */
class AllocationDepthTest {
  /** One qcow2 cluster, so that the qcow2 chain allocates exactly what the volumes do. */
  private static final int SLOT = 64 << 10;
  private static final int SLOTS = 16;
  private static final long SIZE = (long) SLOT * SLOTS;
  private static final Pattern MAP_LINE = Pattern.compile("(?m)^\\s*(\\d+)\\s+(\\d+)\\s+(\\d+)\\b");

  @TempDir Path dir;
  private Datastore ds;
  private final List<Volume> opened = new ArrayList<>();
  private NbdServer server;

  /** A run of bytes and its depth, as nbdinfo prints it. */
  record Run(long offset, long length, int depth) {}

  /**
   * Builds base (data in slots 0, 1, 2, 7; snapshot s1; then slot 4), mid, a linked clone of base@s1
   * (slot 1 rewritten, slot 2 zeroed; snapshot s2; then slot 5), and top, a linked clone of mid@s2
   * (slot 0 written, slot 3 zeroed); exports top read-write and mid@s2.
   */
  @BeforeEach
  void start() throws Exception {
    ds = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults().withCleanerInterval(Duration.ZERO), 0);
    try (Volume base = ds.createVolume("base", SIZE)) {
      for (int slot : new int[] {0, 1, 2, 7}) {
        fill(base, slot, 0xa0);
      }
      ds.createSnapshot("base", "s1");
      fill(base, 4, 0xa4);
    }
    try (Volume mid = ds.cloneSnapshot("base", "s1", List.of("mid")).getFirst()) {
      fill(mid, 1, 0xb1);
      mid.writeZeroes(2L * SLOT, SLOT, true);
      ds.createSnapshot("mid", "s2");
      fill(mid, 5, 0xb5);
    }
    ds.cloneSnapshot("mid", "s2", List.of("top")).forEach(opened::add);
    Volume top = opened.getFirst();
    fill(top, 0, 0xc0);
    top.writeZeroes(3L * SLOT, SLOT, true);
    Volume midView = ds.volume("mid@s2", true);
    opened.add(midView);
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("top", top));
    registry.add(Export.of("mid@s2", midView));
    server = NbdServer.start(registry, NbdServer.Options.loopback());
  }

  @AfterEach
  void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    for (Volume v : opened) {
      v.close();
    }
    if (ds != null) {
      ds.close();
    }
  }

  private static void fill(Volume v, int slot, int value) throws IOException {
    byte[] b = new byte[SLOT];
    Arrays.fill(b, (byte) value);
    v.write((long) slot * SLOT, ByteBuffer.wrap(b));
  }

  private String uri(String export) {
    return "nbd://127.0.0.1:" + server.port() + "/" + export;
  }

  /** Returns the runs of slots {@code 0..depths.length-1} (the rest depth 0), neighbours merged. */
  private static List<Run> expected(int... depths) {
    List<Run> out = new ArrayList<>();
    int[] all = Arrays.copyOf(depths, SLOTS);
    for (int i = 0; i < SLOTS; i++) {
      add(out, new Run((long) i * SLOT, SLOT, all[i]));
    }
    return out;
  }

  private static void add(List<Run> runs, Run r) {
    if (!runs.isEmpty() && runs.getLast().depth() == r.depth() && runs.getLast().offset() + runs.getLast().length() == r.offset()) {
      Run last = runs.removeLast();
      runs.add(new Run(last.offset(), last.length() + r.length(), r.depth()));
    } else {
      runs.add(r);
    }
  }

  /** Runs nbdinfo on the allocation-depth context of {@code uri} and returns its runs, neighbours merged. */
  private static List<Run> depthMap(String uri) {
    String out = Peer.run(30, "nbdinfo", "--map=qemu:allocation-depth", uri);
    List<Run> runs = new ArrayList<>();
    Matcher m = MAP_LINE.matcher(out);
    while (m.find()) {
      add(runs, new Run(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Integer.parseInt(m.group(3))));
    }
    assertThat(runs).as("nbdinfo map of %s:%n%s", uri, out).isNotEmpty();
    return runs;
  }

  @Test
  void nbdinfoSeesTheLayerOfEachRangeOfATwoLevelLinkedClone() {
    //                                          slot 0  1  2  3  4  5  6  7
    assertThat(depthMap(uri("top"))).containsExactlyElementsOf(expected(1, 2, 2, 1, 0, 0, 0, 3));
    assertThat(depthMap(uri("mid@s2"))).containsExactlyElementsOf(expected(2, 1, 1, 0, 0, 0, 0, 2));
  }

  @Test
  void writesThroughTheExportMoveRangesToTheTopLayer() {
    Peer.run(30, "qemu-io", "-f", "raw", "-c", "write -P 0x11 " + 4 * SLOT + " " + SLOT,
        "-c", "write -z " + 7 * SLOT + " " + SLOT, "-c", "write -P 0x12 " + (9 * SLOT + 4096) + " 512", uri("top"));
    // A partial write allocates its whole 4 KiB block in the top layer.
    List<Run> want = expected(1, 2, 2, 1, 1, 0, 0, 1);
    want.removeLast();
    want.add(new Run(8L * SLOT, SLOT + 4096, 0));
    want.add(new Run(9L * SLOT + 4096, 4096, 1));
    want.add(new Run(9L * SLOT + 8192, SIZE - 9L * SLOT - 8192, 0));
    assertThat(depthMap(uri("top"))).containsExactlyElementsOf(want);
  }

  @Test
  void depthsMatchQemuNbdServingTheSameChainAsQcow2Overlays() throws Exception {
    Path base = qcow2("base.qcow2", null, "write -P 0xa0 0 " + 3 * SLOT, "write -P 0xa0 " + 7 * SLOT + " " + SLOT);
    Path mid = qcow2("mid.qcow2", base, "write -P 0xb1 " + SLOT + " " + SLOT, "write -z " + 2 * SLOT + " " + SLOT);
    Path top = qcow2("top.qcow2", mid, "write -P 0xc0 0 " + SLOT, "write -z " + 3 * SLOT + " " + SLOT);
    for (String[] pair : new String[][] {{"top", top.toString()}, {"mid@s2", mid.toString()}}) {
      Path socket = dir.resolve(pair[0].replace('@', '-') + ".sock");
      Process qemuNbd = startQemuNbd(Path.of(pair[1]), socket);
      try {
        String peer = "nbd+unix:///?socket=" + socket;
        assertThat(depthMap(uri(pair[0]))).as("vstore vs qemu-nbd for %s", pair[0]).isEqualTo(depthMap(peer));
        // QEMU's own NBD client can read the context only through its x-dirty-bitmap debug option,
        // which folds the depth into the data/zero bits of qemu-img map; both servers must agree.
        String ours = Peer.run(30, "qemu-img", "map", "--output=json", "--image-opts",
            "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=" + server.port() + ",export=" + pair[0]
                + ",x-dirty-bitmap=qemu:allocation-depth");
        String theirs = Peer.run(30, "qemu-img", "map", "--output=json", "--image-opts",
            "driver=nbd,server.type=unix,server.path=" + socket + ",x-dirty-bitmap=qemu:allocation-depth");
        assertThat(ours).as("qemu-img map of %s", pair[0]).isEqualTo(theirs);
      } finally {
        qemuNbd.destroy();
        if (!qemuNbd.waitFor(10, TimeUnit.SECONDS)) {
          qemuNbd.destroyForcibly().waitFor();
        }
      }
    }
  }

  /** Creates a qcow2 overlay of {@code backing} (or a base image) and applies qemu-io commands to it. */
  private Path qcow2(String name, Path backing, String... commands) {
    Path file = dir.resolve(name);
    if (backing == null) {
      Peer.run(30, "qemu-img", "create", "-q", "-f", "qcow2", file.toString(), Long.toString(SIZE));
    } else {
      Peer.run(30, "qemu-img", "create", "-q", "-f", "qcow2", "-b", backing.toString(), "-F", "qcow2", file.toString());
    }
    List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    cmd.add(file.toString());
    Peer.run(30, cmd.toArray(new String[0]));
    return file;
  }

  /** Starts qemu-nbd read-only with allocation depth on a unix socket and waits until it listens. */
  private Process startQemuNbd(Path image, Path socket) throws Exception {
    Path err = dir.resolve(socket.getFileName() + ".err");
    Process p = new ProcessBuilder("qemu-nbd", "--allocation-depth", "--persistent", "--read-only", "-f", "qcow2",
        "--socket=" + socket, image.toString())
        .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!Files.exists(socket)) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        p.destroyForcibly().waitFor();
        fail("qemu-nbd did not start listening on " + socket + "\nstderr: " + Files.readString(err, StandardCharsets.UTF_8));
      }
      Thread.sleep(20);
    }
    return p;
  }
}
