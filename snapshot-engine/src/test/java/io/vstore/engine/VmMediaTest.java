package io.vstore.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A VM's media files: stored byte-exact with size and SHA-256, listed, removed, gone with the VM. */
final class VmMediaTest {
  @TempDir Path tmp;

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] readAll(Fixture f, String vm, String name) throws IOException {
    try (InputStream in = f.inventory.media().open(vm, name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void filesOfEveryOddSizeComeBackByteExactWithTheirDigest() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      // Sizes around the 512-byte rounding and the copy buffer, a wrong size hint (too small, too
      // large), and a file with a long run of zeros (not stored, still read back).
      int[] sizes = {0, 1, 511, 512, 513, (1 << 20) + 3, 3 * (1 << 20)};
      long[] hints = {-1, 1, 511, 100, 513, 4096, 8L << 20};
      for (int i = 0; i < sizes.length; i++) {
        byte[] data = expected(sizes[i], i);
        MediaFile m = f.inventory.media().add("vm", "f" + i + ".iso", MediaFile.CDROM, new ByteArrayInputStream(data),
            hints[i], x -> {});
        assertThat(m.size()).isEqualTo(data.length);
        assertThat(m.sha256()).isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
        assertThat(f.store.volumeInfo(m.volume()).size()).isEqualTo(Math.max(512, (data.length + 511) / 512 * 512L));
      }
      f.reopen();
      for (int i = 0; i < sizes.length; i++) {
        assertThat(readAll(f, "vm", "f" + i + ".iso")).as("file " + i).isEqualTo(expected(sizes[i], i));
      }
      assertThat(f.inventory.media().list("vm")).extracting(MediaFile::name)
          .containsExactly("f0.iso", "f1.iso", "f2.iso", "f3.iso", "f4.iso", "f5.iso", "f6.iso");
    }
  }

  private static byte[] expected(int size, int i) {
    byte[] data = random(size, i);
    if (data.length > (2 << 20)) {
      java.util.Arrays.fill(data, 1 << 20, 2 << 20, (byte) 0);
    }
    return data;
  }

  @Test
  void deletingTheVmDeletesItsMediaVolumes() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      f.inventory.media().add("vm", "a.iso", MediaFile.CDROM, new ByteArrayInputStream(random(5000, 1)), 5000, x -> {});
      f.inventory.media().add("vm", "vm.nvram", MediaFile.NVRAM, new ByteArrayInputStream(random(700, 2)), -1, x -> {});
      assertThat(f.inventory.volumes()).containsExactlyInAnyOrder("vm-disk0", "vm-media0", "vm-media1");
      assertThat(f.inventory.owner("vm-media1", null)).startsWith("VM vm");
      f.vms().delete("vm");
      assertThat(f.store.volumes()).isEmpty();
      assertThat(f.vms().list()).isEmpty();
    }
  }

  @Test
  void aFailingSourceLeavesNoEntryAndNoVolume() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      InputStream broken = new InputStream() {
        private int left = 3 << 20;

        @Override
        public int read() throws IOException {
          if (--left < 0) {
            throw new IOException("truncated");
          }
          return 7;
        }
      };
      assertThatThrownBy(() -> f.inventory.media().add("vm", "a.iso", MediaFile.CDROM, broken, -1, x -> {}))
          .hasMessage("truncated");
      assertThat(f.vms().get("vm").media()).isEmpty();
      assertThat(f.vms().get("vm").pending()).isNull();
      assertThat(f.store.volumes()).extracting(v -> v.name()).containsExactly("vm-disk0");
      // The name is free again, and so is the volume.
      MediaFile m = f.inventory.media().add("vm", "a.iso", MediaFile.CDROM, new ByteArrayInputStream(new byte[] {1}), 1,
          x -> {});
      assertThat(m.volume()).isEqualTo("vm-media0");
    }
  }

  @Test
  void badNamesRolesAndDuplicatesAreRefusedWithOneLine() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      VmMedia media = f.inventory.media();
      assertThatThrownBy(() -> media.add("vm", "../x.iso", MediaFile.CDROM, InputStream.nullInputStream(), -1, x -> {}))
          .hasMessageStartingWith("bad media file name '../x.iso'");
      assertThatThrownBy(() -> media.add("vm", "x.iso", "tape", InputStream.nullInputStream(), -1, x -> {}))
          .hasMessageStartingWith("bad media role 'tape'");
      assertThatThrownBy(() -> media.add("nope", "x.iso", MediaFile.CDROM, InputStream.nullInputStream(), -1, x -> {}))
          .hasMessageStartingWith("no VM nope");
      media.add("vm", "x.iso", MediaFile.CDROM, InputStream.nullInputStream(), -1, x -> {});
      assertThatThrownBy(() -> media.add("vm", "x.iso", MediaFile.CDROM, InputStream.nullInputStream(), -1, x -> {}))
          .hasMessage("VM vm already has a media file x.iso");
      assertThatThrownBy(() -> media.remove("vm", "y.iso")).hasMessageStartingWith("VM vm has no media file y.iso");
      media.remove("vm", "x.iso");
      assertThat(media.list("vm")).isEmpty();
    }
  }

  @Test
  void aCorruptedRecordedDigestIsReportedWhenTheFileIsRead() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      MediaFile m = f.inventory.media().add("vm", "a.iso", MediaFile.CDROM, new ByteArrayInputStream(random(3000, 3)),
          -1, x -> {});
      try (var v = f.store.volume(m.volume())) {
        v.write(1024, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        v.flush();
      }
      assertThatThrownBy(() -> readAll(f, "vm", "a.iso")).hasMessageStartingWith("bad media file: a.iso in volume vm-media0:"
          + " SHA-256 expected " + m.sha256());
      f.inventory.media().remove("vm", "a.iso");
    }
  }

  @Test
  void anInventoryWithoutMediaIsWrittenAsBefore() throws Exception {
    try (Fixture f = new Fixture(tmp.resolve("ds"))) {
      f.vms().create("vm", List.of(1L << 20), null);
      String text = Files.readString(tmp.resolve("ds").resolve("engine").resolve("inventory.json"));
      assertThat(text).doesNotContain("media");
    }
  }
}
