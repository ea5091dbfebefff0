package io.vstore.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.DatastoreOptions;
import io.vstore.blockstore.store.Volume;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots a QEMU guest (TCG) from an NBD export. Its disk holds only a boot sector this test
 * assembles: the guest fills a buffer with a pattern, writes it to sector 5 through BIOS int 13h,
 * reads sector 5 back, compares, copies what it read to sector 6, and reports the outcome by
 * writing to QEMU's isa-debug-exit port. The test then checks both sectors through a read-only
 * snapshot of the device served as a second export.
 */
@Tag("slow")
public class QemuGuestTest {
  public static final int SECTOR = 512;
  public static final int PATTERN_SECTOR = 5; // CHS sector numbers start at 1: LBA 4
  public static final int COPY_SECTOR = 6;
  public static final int EXIT_PORT = 0xF4;
  /** isa-debug-exit makes QEMU exit with (value << 1) | 1. */
  public static final int GUEST_OK = 0x10;
  private static final int GUEST_FAILED = 0x11;

  @Test
  void guestBootsFromAMemoryDeviceAndTheSnapshotHoldsItsWrites() throws Exception {
    MemoryBlockDevice disk = new MemoryBlockDevice("guest", 1 << 20);
    bootAndCheck(disk, () -> disk.snapshot("guest@after-boot"));
  }

  @Test
  void guestBootsFromADatastoreVolumeAndItsSnapshotHoldsItsWrites(@TempDir Path dir) throws Exception {
    try (Datastore ds = Datastore.create(dir.resolve("ds"), DatastoreOptions.defaults(), 0);
        Volume volume = ds.createVolume("guest", 1 << 20)) {
      bootAndCheck(volume, () -> {
        ds.createSnapshot("guest", "after-boot");
        return ds.volume("guest@after-boot", true);
      });
    }
  }

  /** Supplies the read-only view checked after the guest ran. */
  private interface AfterBoot {
    BlockDevice open() throws Exception;
  }

  private void bootAndCheck(BlockDevice disk, AfterBoot afterBoot) throws Exception {
    disk.write(0, ByteBuffer.wrap(bootSector()));
    ExportRegistry registry = new ExportRegistry();
    registry.add(Export.of("guest", disk));
    try (NbdServer server = NbdServer.start(registry, NbdServer.Options.loopback())) {
      Peer.Result r = Peer.runAllowingFailure(180, "qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "32",
          "-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot", "-boot", "order=c",
          "-drive", "file=nbd://127.0.0.1:" + server.port() + "/guest,format=raw,if=ide,cache=writethrough",
          "-device", "isa-debug-exit,iobase=0x" + Integer.toHexString(EXIT_PORT) + ",iosize=0x04");
      assertThat(r.exit()).as("QEMU exit code (%d = guest ok, %d = guest saw a mismatch or a disk error); stderr: %s",
          (GUEST_OK << 1) | 1, (GUEST_FAILED << 1) | 1, r.err()).isEqualTo((GUEST_OK << 1) | 1);

      BlockDevice snapshot = afterBoot.open();
      registry.add(Export.of("guest@after-boot", snapshot));
      byte[] expected = pattern();
      try (TestClient c = TestClient.open(server.port(), "guest@after-boot", true)) {
        assertThat(c.transmissionFlags & Nbd.FLAG_READ_ONLY).isNotZero();
        assertThat(c.read(1, (PATTERN_SECTOR - 1) * SECTOR, SECTOR, 0).data()).isEqualTo(expected);
        assertThat(c.read(2, (COPY_SECTOR - 1) * SECTOR, SECTOR, 0).data()).isEqualTo(expected);
      }
      registry.remove("guest@after-boot");
      snapshot.close();
    }
  }

  /** The bytes the guest writes: 0x5A, then each byte 0x3B more than the last (mod 256). */
  public static byte[] pattern() {
    byte[] p = new byte[SECTOR];
    int v = 0x5A;
    for (int i = 0; i < SECTOR; i++) {
      p[i] = (byte) v;
      v = (v + 0x3B) & 0xFF;
    }
    return p;
  }

  /** Assembles the 16-bit real-mode boot sector (hand-encoded x86, loaded at 0x7C00). */
  public static byte[] bootSector() {
    Asm a = new Asm();
    a.emit(0xFA); // cli
    a.emit(0x31, 0xC0); // xor ax, ax
    a.emit(0x8E, 0xD8); // mov ds, ax
    a.emit(0x8E, 0xC0); // mov es, ax
    a.emit(0x8E, 0xD0); // mov ss, ax
    a.emit(0xBC, 0x00, 0x7C); // mov sp, 0x7C00
    a.emit(0xFB); // sti
    a.emit(0xFC); // cld
    a.emit(0x88, 0x16, 0x00, 0x05); // mov [0x0500], dl  (BIOS boot drive; int 13h may clobber dl)
    a.emit(0xBF, 0x00, 0x80); // mov di, 0x8000
    a.emit(0xB9, 0x00, 0x02); // mov cx, 512
    a.emit(0xB0, 0x5A); // mov al, 0x5A
    a.label("fill");
    a.emit(0xAA); // stosb
    a.emit(0x04, 0x3B); // add al, 0x3B
    a.jump(0xE2, "fill"); // loop fill
    disk(a, 0x03, PATTERN_SECTOR, 0x80); // write the pattern
    disk(a, 0x02, PATTERN_SECTOR, 0x90); // read it back
    a.emit(0xBE, 0x00, 0x80); // mov si, 0x8000
    a.emit(0xBF, 0x00, 0x90); // mov di, 0x9000
    a.emit(0xB9, 0x00, 0x02); // mov cx, 512
    a.emit(0xF3, 0xA6); // repe cmpsb
    a.jump(0x75, "fail"); // jne fail
    disk(a, 0x03, COPY_SECTOR, 0x90); // write what was read to the next sector
    a.emit(0xB0, GUEST_OK); // mov al, GUEST_OK
    a.emit(0xE6, EXIT_PORT); // out 0xF4, al
    a.label("halt1");
    a.emit(0xF4); // hlt
    a.jump(0xEB, "halt1");
    a.label("fail");
    a.emit(0xB0, GUEST_FAILED);
    a.emit(0xE6, EXIT_PORT);
    a.label("halt2");
    a.emit(0xF4);
    a.jump(0xEB, "halt2");
    byte[] code = a.link();
    assertThat(code.length).isLessThan(446);
    byte[] sector = new byte[SECTOR];
    System.arraycopy(code, 0, sector, 0, code.length);
    sector[510] = 0x55;
    sector[511] = (byte) 0xAA;
    return sector;
  }

  /** Emits int 13h function {@code ah} on one sector (cylinder 0, head 0) with the buffer at {@code bufferPage}:00. */
  private static void disk(Asm a, int ah, int sector, int bufferPage) {
    a.emit(0xB8, 0x01, ah); // mov ax, (ah << 8) | 1 sector
    a.emit(0xB9, sector, 0x00); // mov cx, sector (ch = cylinder 0, cl = sector)
    a.emit(0x30, 0xF6); // xor dh, dh (head 0)
    a.emit(0x8A, 0x16, 0x00, 0x05); // mov dl, [0x0500]
    a.emit(0xBB, 0x00, bufferPage); // mov bx, bufferPage << 8
    a.emit(0xCD, 0x13); // int 0x13
    a.jump(0x72, "fail"); // jc fail
  }

  /** Just enough of an assembler: raw bytes, labels and short (rel8) jumps. */
  private static final class Asm {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final Map<String, Integer> labels = new HashMap<>();
    private final List<int[]> fixups = new java.util.ArrayList<>(); // {position of rel8, label index}
    private final List<String> fixupLabels = new java.util.ArrayList<>();

    void emit(int... bytes) {
      for (int b : bytes) {
        out.write(b);
      }
    }

    void label(String name) {
      labels.put(name, out.size());
    }

    void jump(int opcode, String label) {
      out.write(opcode);
      fixups.add(new int[] {out.size()});
      fixupLabels.add(label);
      out.write(0);
    }

    byte[] link() {
      byte[] code = out.toByteArray();
      for (int i = 0; i < fixups.size(); i++) {
        int at = fixups.get(i)[0];
        int rel = labels.get(fixupLabels.get(i)) - (at + 1);
        if (rel < -128 || rel > 127) {
          throw new IllegalStateException("jump to " + fixupLabels.get(i) + " out of rel8 range: " + rel);
        }
        code[at] = (byte) rel;
      }
      return code;
    }
  }
}
