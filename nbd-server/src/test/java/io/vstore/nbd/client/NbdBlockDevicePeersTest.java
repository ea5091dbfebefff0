package io.vstore.nbd.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vstore.blockstore.Extent;
import io.vstore.blockstore.ReadOnlyDeviceException;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import io.vstore.nbd.Export;
import io.vstore.nbd.ExportRegistry;
import io.vstore.nbd.Nbd;
import io.vstore.nbd.NbdServer;
import io.vstore.nbd.TlsContexts;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The client against qemu-nbd, over TLS against vstore's server, and against a misbehaving server. */
class NbdBlockDevicePeersTest {
  @TempDir Path dir;

  private static boolean onPath(String tool) {
    for (String p : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (Files.isExecutable(Path.of(p, tool))) {
        return true;
      }
    }
    return false;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", command) + ": " + new String(p.getInputStream().readAllBytes())).isZero();
  }

  @Test
  void pipelinedWritesFromManyThreadsReachQemuNbdAndAllocationIsReported() throws Exception {
    assumeTrue(onPath("qemu-nbd") && onPath("qemu-img"), "qemu-nbd/qemu-img not installed (qemu-utils)");
    Path image = dir.resolve("disk.qcow2");
    run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "64M");
    int port = freePort();
    Process qemu = new ProcessBuilder("qemu-nbd", "-f", "qcow2", "-b", "127.0.0.1", "-p", String.valueOf(port),
        "-x", "disk", "--cache=none", "--aio=threads", "-e", "4", image.toString()).redirectErrorStream(true).start();
    try {
      NbdBlockDevice d = connectWithRetry(new NbdAddress("127.0.0.1", port, "disk", false));
      try (d) {
        assertThat(d.size()).isEqualTo(64L << 20);
        assertThat(d.structuredReplies()).isTrue();
        MemoryBlockDevice model = new MemoryBlockDevice("model", d.size());
        long seed = System.nanoTime();
        List<Future<?>> work = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
          for (int t = 0; t < 8; t++) {
            int slot = t;
            work.add(pool.submit(() -> {
              Random rnd = new Random(seed + slot);
              // Each thread owns its own 8 MiB, so the model's order matches the server's.
              for (int i = 0; i < 50; i++) {
                int len = 512 * (1 + rnd.nextInt(256));
                long off = slot * (8L << 20) + 512L * rnd.nextInt((8 << 20) / 512 - 256);
                byte[] b = new byte[len];
                rnd.nextBytes(b);
                d.write(off, ByteBuffer.wrap(b));
                model.write(off, ByteBuffer.wrap(b));
              }
              return null;
            }));
          }
          for (Future<?> f : work) {
            f.get();
          }
        }
        d.writeZeroes(1 << 20, 1 << 20, false);
        model.writeZeroes(1 << 20, 1 << 20, false);
        d.flush();
        for (long off = 0; off < d.size(); off += 4 << 20) {
          ByteBuffer a = ByteBuffer.allocate(4 << 20);
          ByteBuffer b = ByteBuffer.allocate(4 << 20);
          d.read(off, a);
          model.read(off, b);
          assertThat(a.array()).as("seed %d, bytes at %d", seed, off).isEqualTo(b.array());
        }
        List<Extent> map = d.allocation(0, d.size());
        assertThat(map.getFirst().offset()).isZero();
        assertThat(map.getLast().end()).isEqualTo(d.size());
        assertThat(map).anyMatch(e -> e.kind() == Extent.Kind.DATA).anyMatch(e -> e.kind() != Extent.Kind.DATA);
      }
    } finally {
      qemu.destroy();
      qemu.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static NbdBlockDevice connectWithRetry(NbdAddress a) throws Exception {
    IOException last = null;
    for (int i = 0; i < 100; i++) {
      try {
        return NbdBlockDevice.connect(a, NbdBlockDevice.Options.defaults());
      } catch (IOException e) {
        last = e;
        Thread.sleep(100);
      }
    }
    throw last;
  }

  @Test
  void startTlsWithTheServersCaAndRefusalOfAReadOnlyExport() throws Exception {
    assumeTrue(onPath("openssl"), "openssl not installed");
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("cert.pem").toString(),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    ExportRegistry registry = new ExportRegistry();
    MemoryBlockDevice disk = new MemoryBlockDevice("disk", 4 << 20);
    registry.add(Export.of("disk", disk));
    registry.add(Export.of("ro", new MemoryBlockDevice("ro", 1 << 20, true)));
    NbdServer.Options opts = new NbdServer.Options(InetAddress.getLoopbackAddress(), 0,
        TlsContexts.fromPem(dir.resolve("cert.pem"), dir.resolve("key.pem")), true);
    try (NbdServer server = NbdServer.start(registry, opts)) {
      NbdBlockDevice.Options tls = NbdBlockDevice.Options.defaults().withTls(ClientTls.trusting(dir.resolve("cert.pem")));
      try (NbdBlockDevice d = NbdBlockDevice.connect(new NbdAddress("localhost", server.port(), "disk", true), tls)) {
        assertThat(d.isTls()).isTrue();
        byte[] b = new byte[100_000];
        new Random(1).nextBytes(b);
        d.write(12345, ByteBuffer.wrap(b));
        d.flush();
        ByteBuffer back = ByteBuffer.allocate(b.length);
        disk.read(12345, back);
        assertThat(back.array()).isEqualTo(b);
      }
      try (NbdBlockDevice ro = NbdBlockDevice.connect(new NbdAddress("127.0.0.1", server.port(), "ro", true), tls)) {
        assertThat(ro.isReadOnly()).isTrue();
        assertThatThrownBy(() -> ro.write(0, ByteBuffer.allocate(1))).isInstanceOf(ReadOnlyDeviceException.class);
      }
      assertThatThrownBy(() -> NbdBlockDevice.connect(new NbdAddress("127.0.0.1", server.port(), "disk", false),
          NbdBlockDevice.Options.defaults())).isInstanceOf(IOException.class).hasMessageContaining("TLS required");
      assertThatThrownBy(() -> NbdBlockDevice.connect(new NbdAddress("127.0.0.1", server.port(), "nope", true), tls))
          .isInstanceOf(IOException.class).hasMessageContaining("no such export");
    }
  }

  /** A server that negotiates properly, then answers the first read with {@code reply}. */
  private static Thread fakeServer(ServerSocket listener, byte[] reply) {
    return Thread.ofVirtual().start(() -> {
      try (Socket s = listener.accept()) {
        DataInputStream in = new DataInputStream(s.getInputStream());
        DataOutputStream out = new DataOutputStream(s.getOutputStream());
        out.writeLong(Nbd.NBDMAGIC);
        out.writeLong(Nbd.IHAVEOPT);
        out.writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        out.flush();
        in.readInt();
        while (true) {
          in.readLong();
          int option = in.readInt();
          in.readNBytes(in.readInt());
          if (option == Nbd.OPT_GO) {
            out.writeLong(Nbd.OPTION_REPLY_MAGIC);
            out.writeInt(option);
            out.writeInt(Nbd.REP_INFO);
            out.writeInt(12);
            out.writeShort(Nbd.INFO_EXPORT);
            out.writeLong(1 << 20);
            out.writeShort(1);
            out.writeLong(Nbd.OPTION_REPLY_MAGIC);
            out.writeInt(option);
            out.writeInt(Nbd.REP_ACK);
            out.writeInt(0);
            out.flush();
            break;
          }
          out.writeLong(Nbd.OPTION_REPLY_MAGIC);
          out.writeInt(option);
          out.writeInt(Nbd.REP_ERR_BIT + 1);
          out.writeInt(0);
          out.flush();
        }
        byte[] request = in.readNBytes(28);
        ByteBuffer r = ByteBuffer.wrap(reply);
        r.putLong(4, ByteBuffer.wrap(request).getLong(8)); // the request's handle
        out.write(reply);
        out.flush();
        in.read(); // wait for the client to hang up
      } catch (IOException e) {
        // The client hung up: expected.
      }
    });
  }

  @Test
  void malformedRepliesBreakTheConnectionWithAClearError() throws Exception {
    byte[][] replies = {
        ByteBuffer.allocate(16).putInt(0xdeadbeef).array(), // bad magic
        ByteBuffer.allocate(20).putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) 1).putShort((short) 1)
            .putLong(0).putInt(Integer.MAX_VALUE).array(), // huge data chunk
    };
    for (byte[] reply : replies) {
      try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        Thread server = fakeServer(listener, reply);
        NbdBlockDevice.Options o = NbdBlockDevice.Options.defaults().withRequestTimeout(Duration.ofSeconds(20));
        try (NbdBlockDevice d = NbdBlockDevice.connect(new NbdAddress("127.0.0.1", listener.getLocalPort(), "x", false), o)) {
          assertThat(d.structuredReplies()).isFalse();
          assertThatThrownBy(() -> d.read(0, ByteBuffer.allocate(4096))).isInstanceOf(IOException.class)
              .hasMessageContaining("bad NBD reply");
          assertThat(d.isConnected()).isFalse();
          assertThatThrownBy(() -> d.flush()).isInstanceOf(IOException.class).hasMessageContaining("broken");
        }
        server.join(10_000);
      }
    }
  }

  @Test
  void addressesParse() {
    assertThat(NbdAddress.parse("nbd://host:1234/exp")).isEqualTo(new NbdAddress("host", 1234, "exp", false));
    assertThat(NbdAddress.parse("nbds://10.0.0.1/a/b")).isEqualTo(new NbdAddress("10.0.0.1", 10809, "a/b", true));
    assertThatThrownBy(() -> NbdAddress.parse("http://x/y")).hasMessageStartingWith("bad NBD address");
    assertThatThrownBy(() -> NbdAddress.parse("nbd://:12/y")).hasMessageStartingWith("bad NBD address");
  }
}
