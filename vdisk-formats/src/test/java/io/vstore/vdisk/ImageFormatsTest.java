package io.vstore.vdisk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFormatsTest {
  @TempDir Path dir;

  @Test
  void grubMbrFromTheCorpusProbesAsRaw() throws Exception {
    Path mbr = Corpus.file("disks/qemu-samples/grub_mbr.raw");
    assertThat(ImageFormats.detect(mbr).name()).isEqualTo("raw");
    try (DiskImage d = ImageFormats.open(mbr, true)) {
      assertThat(d.size()).isEqualTo(512);
      ByteBuffer b = ByteBuffer.allocate(512);
      d.read(0, b);
      assertThat(b.array()).isEqualTo(Files.readAllBytes(mbr));
    }
  }

  @Test
  void corpusImagesOfOtherFormatsAreNotMistakenForQcow2() throws Exception {
    for (String f : new String[] {"disks/vmdk-rs/monolithicSparse.vmdk", "disks/qemu-samples/parallels-v1",
        "disks/qemu-samples/empty.bochs", "disks/qemu-samples/simple-dmg.dmg"}) {
      assertThat(ImageFormats.detect(Corpus.file(f)).name()).as(f).isNotEqualTo("qcow2");
    }
  }

  @Test
  void detectionIsByContentNotByName() throws Exception {
    Path q = dir.resolve("looks-raw.img");
    ImageFormats.create(q, "qcow2", 1 << 20, CreateOptions.none()).close();
    Path r = dir.resolve("looks-qcow2.qcow2");
    ImageFormats.create(r, "raw", 1 << 20, CreateOptions.none()).close();
    assertThat(ImageFormats.detect(q).name()).isEqualTo("qcow2");
    assertThat(ImageFormats.detect(r).name()).isEqualTo("raw");
    assertThat(ImageFormats.detect(Files.write(dir.resolve("empty"), new byte[0])).name()).isEqualTo("raw");
    assertThatThrownBy(() -> ImageFormats.byName("nope")).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("qcow2");
  }

  @Test
  void relativeBackingNamesResolveAgainstTheChildsDirectory() throws Exception {
    Path sub = Files.createDirectories(dir.resolve("a/b"));
    ImageFormats.create(dir.resolve("a/base.raw"), "raw", 1 << 20, CreateOptions.none()).close();
    try (DiskImage top = ImageFormats.create(sub.resolve("top.qcow2"), "qcow2", -1,
        new CreateOptions(Map.of(), "../base.raw", null))) {
      assertThat(top.backing()).isPresent();
      assertThat(top.info().backingFile()).isEqualTo("../base.raw");
      assertThat(top.info().details()).containsEntry("backing_format", "raw");
    }
    try (DiskImage again = ImageFormats.open(sub.resolve("top.qcow2"), true)) {
      assertThat(ImageFormats.chain(again)).extracting(d -> d.path().getFileName().toString())
          .containsExactly("top.qcow2", "base.raw");
    }
  }

  @Test
  void backingLoopsAreRefused() throws Exception {
    Path a = dir.resolve("a.qcow2");
    Path b = dir.resolve("b.qcow2");
    ImageFormats.create(b, "qcow2", 1 << 20, CreateOptions.none()).close();
    ImageFormats.create(a, "qcow2", 1 << 20, new CreateOptions(Map.of(), "b.qcow2", "qcow2")).close();
    // point b back at a, as `qemu-img rebase -u` would: replace b by an overlay of a
    Path tmp = dir.resolve("tmp.qcow2");
    ImageFormats.create(tmp, "qcow2", 1 << 20, new CreateOptions(Map.of(), "a.qcow2", "qcow2")).close();
    Files.move(tmp, b, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> ImageFormats.open(a, true)).isInstanceOf(CorruptImageException.class)
        .hasMessageContaining("its own backing file");
  }

  @Test
  void overLongChainsAreRefused() throws Exception {
    Path prev = dir.resolve("l0.qcow2");
    ImageFormats.create(prev, "qcow2", 65536, CreateOptions.none()).close();
    for (int i = 1; i <= ImageFormats.MAX_CHAIN_DEPTH + 1; i++) {
      Path next = dir.resolve("l" + i + ".qcow2");
      writeOverlayWithoutOpening(next, prev.getFileName().toString());
      prev = next;
    }
    Path top = prev;
    assertThatThrownBy(() -> ImageFormats.open(top, true)).isInstanceOf(UnsupportedFormatException.class)
        .hasMessageContaining("deeper than " + ImageFormats.MAX_CHAIN_DEPTH);
    try (DiskImage ok = ImageFormats.open(dir.resolve("l" + (ImageFormats.MAX_CHAIN_DEPTH - 1) + ".qcow2"), true)) {
      assertThat(ImageFormats.chain(ok)).hasSize(ImageFormats.MAX_CHAIN_DEPTH);
    }
  }

  /**
   * Writes a qcow2 overlay by copying a template and patching the backing name, which sits last in
   * the first cluster (creating would open the whole chain each time).
   */
  private void writeOverlayWithoutOpening(Path path, String backing) throws IOException {
    Path template = dir.resolve("template.qcow2");
    if (!Files.exists(template)) {
      ImageFormats.create(dir.resolve("t-base.qcow2"), "qcow2", 65536, CreateOptions.none()).close();
      ImageFormats.create(template, "qcow2", 65536,
          new CreateOptions(Map.of(), "t-base.qcow2", "qcow2")).close();
    }
    Files.copy(template, path);
    try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
      f.seek(8);
      long off = f.readLong();
      f.seek(16);
      f.writeInt(backing.length());
      f.seek(off);
      f.write(backing.getBytes());
    }
  }
}
