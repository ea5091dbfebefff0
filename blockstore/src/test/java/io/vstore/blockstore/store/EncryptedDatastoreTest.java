package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.CorruptDataException;
import io.vstore.blockstore.crypto.Argon2Cost;
import io.vstore.blockstore.crypto.KeyException;
import io.vstore.blockstore.crypto.KeyRing;
import io.vstore.blockstore.crypto.KeySource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An encrypted datastore: create, open with the key only, read back, and what a wrong key or tampering does. */
final class EncryptedDatastoreTest {
  @TempDir Path tmp;

  static KeySource.Passphrase passphrase(String text) {
    return KeySource.passphrase(text).withCost(Argon2Cost.MINIMAL);
  }

  static DatastoreOptions options(KeySource keys) {
    return DatastoreOptions.defaults().withSegmentBytes(4L << 20).withCleanerInterval(Duration.ZERO).withKeys(keys);
  }

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Returns 1 MiB of text-like bytes that compress well and are easy to find in a file. */
  private static byte[] text() {
    return "SECRET-PLAINTEXT-0123456789abcdef".repeat((1 << 20) / 33 + 1).substring(0, 1 << 20)
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] read(Volume v, long offset, int n) throws IOException {
    byte[] back = new byte[n];
    v.read(offset, ByteBuffer.wrap(back));
    return back;
  }

  @Test
  void anEncryptedDatastoreReadsBackWhatWasWrittenAndStoresNoPlaintext() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] rnd = random(1, 3 << 20);
    byte[] text = text();
    try (Datastore ds = Datastore.create(dir, options(passphrase("correct horse")), 0, true)) {
      Volume v = ds.createVolume("v", 64L << 20);
      v.write(0, ByteBuffer.wrap(rnd));
      v.write(8L << 20, ByteBuffer.wrap(text));
      v.write(20L << 20, ByteBuffer.wrap(rnd, 0, 1000)); // a partial block: read-modify-write
      v.write(24L << 20, ByteBuffer.allocateDirect(1 << 20).put(rnd, 0, 1 << 20).flip());
      assertThat(read(v, 8L << 20, text.length)).isEqualTo(text); // still in memory
      assertThat(v.info().allocated()).isLessThan(rnd.length + text.length / 4 + (2 << 20)); // sealed data still compresses
      ds.flush();
      assertThat(ds.check().problems()).isEmpty();
      assertThat(ds.keys()).isPresent();
    }
    assertThat(Files.readString(dir.resolve("datastore.json"))).contains("aes-256-gcm");
    for (Path seg : Files.list(dir.resolve("segments")).toList()) {
      String body = new String(Files.readAllBytes(seg), StandardCharsets.ISO_8859_1);
      assertThat(body).doesNotContain("SECRET-PLAINTEXT");
      assertThat(body).doesNotContain(new String(rnd, 4096, 64, StandardCharsets.ISO_8859_1));
    }
    try (Datastore ds = Datastore.open(dir, options(passphrase("correct horse")))) {
      Volume v = ds.volume("v");
      assertThat(read(v, 0, rnd.length)).isEqualTo(rnd);
      assertThat(read(v, 8L << 20, text.length)).isEqualTo(text);
      assertThat(read(v, 20L << 20, 1000)).isEqualTo(Arrays.copyOf(rnd, 1000));
      assertThat(read(v, (20L << 20) + 1000, 3096)).isEqualTo(new byte[3096]);
      assertThat(read(v, 24L << 20, 1 << 20)).isEqualTo(Arrays.copyOf(rnd, 1 << 20));
      assertThat(read(v, 4096 * 7 + 5, 10000)).isEqualTo(Arrays.copyOfRange(rnd, 4096 * 7 + 5, 4096 * 7 + 10005));
      ByteBuffer direct = ByteBuffer.allocateDirect(64 << 10);
      v.read(12288, direct);
      assertThat(direct.flip()).isEqualTo(ByteBuffer.wrap(rnd, 12288, 64 << 10));
      assertThat(ds.check().problems()).isEmpty();
      assertThat(ds.clean().segmentsCleaned()).isGreaterThanOrEqualTo(0);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  @Test
  void withoutTheKeyOrWithAWrongOneTheDatastoreDoesNotOpen() throws IOException {
    Path dir = tmp.resolve("ds");
    Datastore.create(dir, options(passphrase("right")), 0, true).close();
    assertThatThrownBy(() -> Datastore.open(dir, options(null))).isInstanceOf(KeyException.class)
        .hasMessage("datastore " + dir + " is encrypted: give --passphrase-file FILE or --key-file FILE"
            + " (or set VSTORE_PASSPHRASE_FILE or VSTORE_KEY_FILE)");
    assertThatThrownBy(() -> Datastore.open(dir, options(passphrase("wrong")))).isInstanceOf(KeyException.class)
        .hasMessageStartingWith("wrong passphrase for datastore " + dir);
    assertThatThrownBy(() -> Datastore.open(dir, options(new KeySource.KeyFile(new byte[32], "k"))))
        .isInstanceOf(KeyException.class).hasMessageContaining("has no key-file key slot");
    // the lock was released each time
    Datastore.open(dir, options(passphrase("right"))).close();
    assertThatThrownBy(() -> Datastore.create(tmp.resolve("other"), options(null), 0, true))
        .isInstanceOf(KeyException.class);
  }

  @Test
  void keySlotsChangeWithoutTouchingData() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] rnd = random(2, 1 << 20);
    Path escrow = tmp.resolve("escrow.key");
    try (Datastore ds = Datastore.create(dir, options(passphrase("one")), 0, true)) {
      ds.createVolume("v", 8L << 20).write(0, ByteBuffer.wrap(rnd));
      KeyRing keys = ds.keys().orElseThrow();
      keys.add("escrow", KeySource.createKeyFile(escrow));
      keys.change("passphrase", passphrase("two"));
      assertThatThrownBy(() -> keys.remove("nothing")).hasMessageContaining("no key slot 'nothing'");
      assertThatThrownBy(() -> keys.add("escrow", passphrase("x"))).hasMessageContaining("already exists");
    }
    byte[][] segmentsBefore = segmentBytes(dir);
    assertThatThrownBy(() -> Datastore.open(dir, options(passphrase("one")))).hasMessageStartingWith("wrong passphrase");
    try (Datastore ds = Datastore.open(dir, options(KeySource.keyFile(escrow)))) {
      assertThat(read(ds.volume("v"), 0, rnd.length)).isEqualTo(rnd);
      assertThat(ds.keys().orElseThrow().unlockedBy()).isEqualTo("escrow");
      ds.keys().orElseThrow().remove("passphrase");
      assertThatThrownBy(() -> ds.keys().orElseThrow().remove("escrow")).hasMessageContaining("last one");
    }
    assertThatThrownBy(() -> Datastore.open(dir, options(passphrase("two")))).hasMessageContaining("no passphrase key slot");
    assertThat(segmentBytes(dir)).isDeepEqualTo(segmentsBefore);
  }

  private static byte[][] segmentBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir.resolve("segments"))) {
      return files.sorted().map(p -> {
        try {
          return Files.readAllBytes(p);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).toArray(byte[][]::new);
    }
  }

  @Test
  void aChangedByteAnywhereInARecordFailsItsReadAndTheCheck() throws IOException {
    Path dir = tmp.resolve("ds");
    byte[] data = random(3, 8 * 4096);
    System.arraycopy(text(), 0, data, 4 * 4096, 4 * 4096); // blocks 4-7 compress, 0-3 do not
    try (Datastore ds = Datastore.create(dir, options(passphrase("p")), 0, true)) {
      ds.createVolume("v", 1 << 20).write(0, ByteBuffer.wrap(data));
    }
    Path seg;
    try (Stream<Path> files = Files.list(dir.resolve("segments"))) {
      seg = files.findFirst().orElseThrow();
    }
    byte[] file = Files.readAllBytes(seg);
    int start = new String(file, StandardCharsets.ISO_8859_1).indexOf("REC1", SegmentFiles.HEADER_BYTES);
    RecordHeader h = RecordHeader.read(ByteBuffer.wrap(file, start, file.length - start), () -> "record");
    assertThat(h.sealed()).isTrue();
    Random r = new Random(4);
    int[] positions = new int[24];
    positions[0] = start;
    positions[1] = start + h.headerBytes() - 1; // the last tag byte
    positions[2] = start + h.storedBytes() - 1; // the last ciphertext byte
    for (int i = 3; i < positions.length; i++) {
      positions[i] = start + r.nextInt(h.storedBytes());
    }
    for (int at : positions) {
      byte[] changed = file.clone();
      changed[at] ^= (byte) (1 << r.nextInt(8));
      Files.write(seg, changed);
      try (Datastore ds = Datastore.open(dir, options(passphrase("p")))) {
        assertThatThrownBy(() -> read(ds.volume("v"), 0, data.length)).as("byte %d", at)
            .isInstanceOf(CorruptDataException.class).hasMessageContaining(seg.toString())
            .hasMessageContaining("offset " + start);
        assertThat(ds.check().problems()).as("byte %d", at).isNotEmpty();
      }
    }
    Files.write(seg, file);
    try (Datastore ds = Datastore.open(dir, options(passphrase("p")))) {
      assertThat(read(ds.volume("v"), 0, data.length)).isEqualTo(data);
      assertThat(ds.check().problems()).isEmpty();
    }
  }

  /** Reads through a plan, doing its file reads the plain way (through the descriptors' /proc links). */
  private static void planned(Volume v, long offset, ByteBuffer dst) throws IOException {
    ReadPlan plan = v.planRead(offset, dst, new ReadPlan.Scratch() {
      @Override
      public ByteBuffer acquire(int bytes) {
        return ByteBuffer.allocateDirect(bytes);
      }

      @Override
      public void release(ByteBuffer buffer) {}
    });
    assertThat(plan).isNotNull();
    int[] results = new int[plan.fileReads().size()];
    for (int i = 0; i < results.length; i++) {
      ReadPlan.FileRead r = plan.fileReads().get(i);
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(Path.of("/proc/self/fd/" + r.fd()))) {
        ByteBuffer t = r.target().duplicate();
        for (int n; t.hasRemaining() && (n = ch.read(t, r.position() + results[i])) >= 0; ) {
          results[i] += n;
        }
      }
    }
    plan.finish(results);
  }

  @Test
  void aChangedByteInOneBlockFailsALargeReadWhicheverWayItIsRead() throws IOException {
    // A large read opens its blocks together after reading them all, on every core: a damaged
    // block must still fail the whole read, named, and an intact one read back right.
    Path dir = tmp.resolve("ds");
    int blocks = 64;
    byte[] data = random(8, blocks * 4096);
    byte[] patch = random(9, 4096);
    try (Datastore ds = Datastore.create(dir, options(passphrase("p")), 0, true)) {
      Volume v = ds.createVolume("v", 1 << 20);
      v.write(0, ByteBuffer.wrap(data));
      v.write(5 * 4096, ByteBuffer.wrap(patch)); // a second record in the middle of the read
      System.arraycopy(patch, 0, data, 5 * 4096, 4096);
    }
    Path seg;
    try (Stream<Path> files = Files.list(dir.resolve("segments"))) {
      seg = files.findFirst().orElseThrow();
    }
    byte[] file = Files.readAllBytes(seg);
    int start = new String(file, StandardCharsets.ISO_8859_1).indexOf("REC1", SegmentFiles.HEADER_BYTES);
    RecordHeader h = RecordHeader.read(ByteBuffer.wrap(file, start, file.length - start), () -> "record");
    assertThat(h.blocks()).isEqualTo(blocks);
    Random r = new Random(10);
    for (int round = 0; round < 6; round++) {
      int block = r.nextInt(blocks);
      if (block == 5) {
        continue; // overwritten: the read does not use it
      }
      byte[] changed = file.clone();
      changed[start + h.headerBytes() + block * 4096 + r.nextInt(4096)] ^= (byte) (1 << r.nextInt(8));
      Files.write(seg, changed);
      try (Datastore ds = Datastore.open(dir, options(passphrase("p")))) {
        Volume v = ds.volume("v");
        for (ByteBuffer dst : new ByteBuffer[] {ByteBuffer.allocate(data.length), ByteBuffer.allocateDirect(data.length)}) {
          assertThatThrownBy(() -> v.read(0, dst)).as("block %d, %s", block, dst)
              .isInstanceOf(CorruptDataException.class).hasMessageContaining(seg.toString())
              .hasMessageContaining("offset " + start).hasMessageContaining("block " + block + " fails authentication");
        }
        assertThatThrownBy(() -> planned(v, 0, ByteBuffer.allocateDirect(data.length))).as("block %d, planned", block)
            .isInstanceOf(CorruptDataException.class).hasMessageContaining("block " + block + " fails authentication");
      }
    }
    Files.write(seg, file);
    try (Datastore ds = Datastore.open(dir, options(passphrase("p")))) {
      Volume v = ds.volume("v");
      assertThat(read(v, 0, data.length)).isEqualTo(data);
      ByteBuffer direct = ByteBuffer.allocateDirect(data.length);
      v.read(0, direct);
      byte[] back = new byte[data.length];
      direct.get(0, back);
      assertThat(back).isEqualTo(data);
      ByteBuffer viaPlan = ByteBuffer.allocateDirect(data.length);
      planned(v, 0, viaPlan);
      viaPlan.get(0, back);
      assertThat(back).isEqualTo(data);
    }
  }

  @Test
  void aMapEntryPointedAtAnotherRecordFailsToOpen() throws Exception {
    Path dir = tmp.resolve("ds");
    try (Datastore ds = Datastore.create(dir, options(passphrase("p")), 0, true)) {
      Volume v = ds.createVolume("v", 1 << 20);
      v.write(0, ByteBuffer.wrap(random(5, 4096)));
      v.write(10 * 4096, ByteBuffer.wrap(random(6, 4096)));
      ds.createVolume("w", 1 << 20).write(0, ByteBuffer.wrap(random(7, 4096)));
    }
    // (map id, end block) -> entry, as committed; map ids are the volume ids, v's first
    java.util.TreeMap<String, MapEntry> entries = new java.util.TreeMap<>();
    java.util.List<byte[]> keys = new java.util.ArrayList<>();
    try (MetaStore meta = new MetaStore(dir.resolve("meta"));
        org.rocksdb.RocksIterator it = meta.iterator(meta.maps)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        ByteBuffer k = ByteBuffer.wrap(it.key());
        long map = k.getLong();
        long end = k.getLong();
        entries.put(map + "/" + end, MapEntry.decodeEnding(end, it.value()));
        keys.add(it.key());
      }
    }
    assertThat(entries).hasSize(3);
    String vBlock0 = entries.firstKey();
    MapEntry vBlock10 = entries.get(entries.higherKey(vBlock0));
    MapEntry wBlock0 = entries.lastEntry().getValue();
    for (MapEntry target : java.util.List.of(vBlock10, wBlock0)) {
      try (MetaStore meta = new MetaStore(dir.resolve("meta"));
          org.rocksdb.WriteBatch batch = new org.rocksdb.WriteBatch()) {
        MapEntry forged = new MapEntry(0, 1, MapEntry.Kind.DATA, target.record(), 0, entries.get(vBlock0).generation());
        batch.put(meta.maps, keys.getFirst(), forged.encodeValue());
        meta.commit(batch);
      }
      try (Datastore ds = Datastore.open(dir, options(passphrase("p")))) {
        assertThatThrownBy(() -> read(ds.volume("v"), 0, 4096)).as("pointed at %s", target)
            .isInstanceOf(CorruptDataException.class).hasMessageContaining("fails authentication");
        assertThat(ds.check().problems()).as("pointed at %s", target).isNotEmpty();
      }
    }
  }
}
