package io.vstore.blockstore.store;

import static io.vstore.blockstore.store.VolumeTransplantModelTest.assertSameContent;
import static io.vstore.blockstore.store.VolumeTransplantModelTest.copyHead;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cases of {@link VolumeTransplant} a random history does not reach: clones, refusals, crashes
 * and resumption, snapshots deleted or made during the move, and the space the copy takes.
 */
final class VolumeTransplantTest {
  private static final int MIB = 1 << 20;
  private static final DatastoreOptions OPTIONS = DatastoreOptions.defaults().withSegmentBytes(4L << 20)
      .withCleanerInterval(Duration.ZERO).withFlushThreshold(200);
  @TempDir Path dir;

  private static ByteBuffer random(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return ByteBuffer.wrap(b);
  }

  /** Makes volume {@code name} of 8 MiB in {@code d} with {@code snapshots} snapshots, 1 MiB rewritten between each. */
  private static void history(Datastore d, String name, int snapshots, Random r) throws IOException {
    try (Volume v = d.createVolume(name, 8 * MIB)) {
      v.write(0, random(r, 4 * MIB));
      for (int i = 0; i < snapshots; i++) {
        d.createSnapshot(name, "s" + i);
        v.write((long) r.nextInt(7) * MIB + 4096L * r.nextInt(16), random(r, MIB / 2));
        v.discard((long) r.nextInt(8) * MIB, 64 * 1024);
      }
    }
  }

  private static void assertAllSame(Datastore a, Datastore b, String volume) throws IOException {
    long size = a.volumeInfo(volume).size();
    try (Volume x = a.volume(volume); Volume y = b.volume(volume)) {
      assertSameContent(x, y, size);
    }
    for (SnapshotInfo s : a.snapshots(volume)) {
      try (Volume x = a.volume(volume + "@" + s.name()); Volume y = b.volume(volume + "@" + s.name())) {
        assertSameContent(x, y, size);
      }
    }
    assertThat(a.check().problems()).isEmpty();
    assertThat(b.check().problems()).isEmpty();
  }

  private static void move(Datastore a, Datastore b, String volume, TransplantOptions options) throws IOException {
    try (VolumeTransplant t = VolumeTransplant.begin(a, volume, b, options); Volume v = a.volume(volume)) {
      copyHead(v, t);
      // As finish asks: both flushed first (its commit leaves the head's unflushed changes pending).
      a.flush();
      b.flush();
      t.finish(volume);
      t.syncSwitch();
    }
  }

  @Test
  void sharingBetweenSnapshotsIsKept() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      history(a, "vm", 8, new Random(1));
      move(a, b, "vm", TransplantOptions.defaults());
      long source = a.volumeInfo("vm").allocated();
      long dest = b.volumeInfo("vm").allocated();
      // 4 MiB at first and 0.5 MiB per snapshot: unshared, the nine views would take about 40 MiB.
      assertThat(source).isBetween(7L * MIB, 9L * MIB);
      assertThat(dest).as("destination bytes against the source's %d", source)
          .isBetween(source - source / 20, source + source / 20);
      assertAllSame(a, b, "vm");
    }
  }

  @Test
  void whatARevertPutsBackStaysShared() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      Random r = new Random(9);
      try (Volume v = a.createVolume("vm", 8 * MIB)) {
        v.write(0, random(r, 4 * MIB));
        a.createSnapshot("vm", "good");
        v.write(0, random(r, 2 * MIB));
        a.createSnapshot("vm", "bad");
        a.revert("vm", "good"); // the change log reports the 2 MiB, which hold good's own records again
        a.createSnapshot("vm", "after");
        v.write(6 * MIB, random(r, MIB));
        a.revert("vm", "bad"); // the head: bad's records where it differs from after, shared with bad
      }
      try (VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults());
          Volume v = a.volume("vm")) {
        assertThat(t.historyBytesCopied()).isEqualTo(6L * MIB);
        assertThat(t.headRangesToCopy()).as("what the head shares with a snapshot is not to be copied").isEmpty();
        copyHead(v, t);
        t.finish("vm");
      }
      assertThat(b.volumeInfo("vm").allocated()).isLessThanOrEqualTo(a.volumeInfo("vm").allocated());
      assertAllSame(a, b, "vm");
    }
  }

  @Test
  void linkedCloneMovesOnlyFlattened() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      Random r = new Random(2);
      history(a, "base", 1, r);
      a.cloneSnapshot("base", "s0", List.of("desk")).getFirst().close();
      a.createSnapshot("desk", "fresh"); // generation 0: it sees only the parent's data
      try (Volume c = a.volume("desk")) {
        c.write(3 * MIB, random(r, 8192));
        c.writeZeroes(0, 4096, false); // hides the parent's block
      }
      a.createSnapshot("desk", "used");
      try (Volume c = a.volume("desk")) {
        c.write(5 * MIB, random(r, 4096));
      }
      assertThatThrownBy(() -> VolumeTransplant.begin(a, "desk", b, TransplantOptions.defaults()))
          .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("linked clone of base@s0")
          .hasMessageContaining("--flatten");
      assertThatThrownBy(() -> VolumeTransplant.begin(a, "base", b, TransplantOptions.defaults()))
          .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("has linked clones desk");
      assertThat(VolumeTransplant.incoming(b)).isEmpty();
      move(a, b, "desk", TransplantOptions.defaults().withFlatten(true));
      assertThat(b.volumeInfo("desk").parent()).isNull();
      assertAllSame(a, b, "desk");
      String fresh = a.snapshots("desk").getFirst().changeId();
      assertThat(b.changedAreas("desk", fresh, 0, 8 * MIB)).isEqualTo(a.changedAreas("desk", fresh, 0, 8 * MIB));
    }
  }

  @Test
  void anUnclaimedCopyIsGoneAfterACrash() throws IOException {
    Path bPath = dir.resolve("b");
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0)) {
      history(a, "vm", 3, new Random(3));
      Datastore b = Datastore.create(bPath, OPTIONS, 0);
      VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults());
      t.head().write(0, random(new Random(4), 4096));
      b.flush();
      b.abandon(); // a crash: the incoming volume's snapshots and data are committed
      try (Datastore again = Datastore.open(bPath, OPTIONS)) {
        assertThat(VolumeTransplant.incoming(again)).isEmpty();
        assertThat(again.volumes()).isEmpty();
        assertThat(again.info().allocated()).isZero();
        assertThat(again.check().problems()).isEmpty();
        move(a, again, "vm", TransplantOptions.defaults());
        assertAllSame(a, again, "vm");
      }
    }
  }

  @Test
  void aClaimedCopyResumesAfterACrashInTheHistory() throws IOException {
    Path bPath = dir.resolve("b");
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0)) {
      history(a, "vm", 6, new Random(5));
      Datastore b = Datastore.create(bPath, OPTIONS, 0);
      AtomicBoolean crashed = new AtomicBoolean();
      TransplantProgress crash = (snapshot, index, count, bytes) -> {
        if (index == 4 && !crashed.get()) {
          crashed.set(true);
          try {
            b.abandon(); // in the middle of the fourth snapshot's data
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        }
      };
      TransplantOptions claimed = TransplantOptions.defaults().withClaim("job-7");
      assertThatThrownBy(() -> VolumeTransplant.begin(a, "vm", b, claimed.withProgress(crash)))
          .isInstanceOf(IllegalStateException.class);
      a.deleteSnapshot("vm", "s1"); // copied before the crash: the copy must lose it too
      try (Datastore again = Datastore.open(bPath, OPTIONS)) {
        List<IncomingVolume> incoming = VolumeTransplant.incoming(again);
        assertThat(incoming).singleElement().satisfies(i -> {
          assertThat(i.claim()).isEqualTo("job-7");
          assertThat(i.snapshots()).isEqualTo(3);
          assertThat(i.copyingHead()).isFalse();
        });
        assertThat(again.check().problems()).isEmpty();
        assertThatThrownBy(() -> VolumeTransplant.begin(a, "vm", again, TransplantOptions.defaults()))
            .hasMessageContaining("claimed by job-7");
        move(a, again, "vm", claimed);
        assertThat(again.snapshots("vm")).extracting(SnapshotInfo::name).containsExactly("s0", "s2", "s3", "s4", "s5");
        assertAllSame(a, again, "vm");
      }
    }
  }

  @Test
  void aClaimedCopyKeepsItsHeadAfterACrashInTheHeadCopy() throws IOException {
    Path bPath = dir.resolve("b");
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0)) {
      history(a, "vm", 2, new Random(6));
      Datastore b = Datastore.create(bPath, OPTIONS, 0);
      TransplantOptions claimed = TransplantOptions.defaults().withClaim("job-8");
      VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, claimed);
      try (Volume v = a.volume("vm")) {
        copyHead(v, t);
      }
      b.flush();
      b.abandon();
      try (Datastore again = Datastore.open(bPath, OPTIONS)) {
        assertThat(VolumeTransplant.incoming(again)).singleElement()
            .satisfies(i -> assertThat(i.copyingHead()).isTrue());
        try (VolumeTransplant resumed = VolumeTransplant.begin(a, "vm", again, claimed)) {
          assertThat(resumed.historyBytesCopied()).isZero();
          resumed.finish("vm"); // the head was copied before the crash and kept
        }
        assertAllSame(a, again, "vm");
        assertThat(again.volumeInfo("vm").changeId()).isEqualTo(a.volumeInfo("vm").changeId());
      }
    }
  }

  @Test
  void abortAndCancelLeaveNothingAndTheSourceAsItWas() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      history(a, "vm", 3, new Random(10));
      VolumeInfo before = a.volumeInfo("vm");
      List<SnapshotInfo> snapshotsBefore = a.snapshots("vm");
      VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults());
      t.head().write(0, random(new Random(11), 8192));
      assertThat(b.info().allocated()).as("an incoming volume's records count as allocated").isPositive();
      assertThat(b.info().provisioned()).isZero();
      t.abort();
      t.abort(); // idempotent
      assertThatThrownBy(() -> t.finish("vm")).isInstanceOf(IllegalStateException.class);
      TransplantProgress cancel = (snapshot, index, count, bytes) -> {
        if (index == 2) {
          throw new java.util.concurrent.CancellationException("job cancelled");
        }
      };
      assertThatThrownBy(() -> VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults().withProgress(cancel)))
          .isInstanceOf(java.util.concurrent.CancellationException.class);
      assertThat(VolumeTransplant.incoming(b)).isEmpty();
      assertThat(b.info().allocated()).isZero();
      assertThat(b.check().problems()).isEmpty();
      assertThat(a.volumeInfo("vm")).isEqualTo(before);
      assertThat(a.snapshots("vm")).isEqualTo(snapshotsBefore);
      assertThat(a.check().problems()).isEmpty();
    }
  }

  @Test
  void discardDeletesAClaimedCopy() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      history(a, "vm", 2, new Random(7));
      VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults().withClaim("job-9"));
      t.close(); // claimed: kept for resumption
      assertThat(VolumeTransplant.incoming(b)).hasSize(1);
      VolumeTransplant.discard(b, t.uuid());
      assertThat(VolumeTransplant.incoming(b)).isEmpty();
      assertThatThrownBy(() -> VolumeTransplant.discard(b, t.uuid())).hasMessageContaining("no incoming volume");
      assertThat(b.check().problems()).isEmpty();
      assertThat(b.info().allocated()).isZero();
    }
  }

  @Test
  void finishRefusesWhatWouldBreakTheCopy() throws IOException {
    try (Datastore a = Datastore.create(dir.resolve("a"), OPTIONS, 0);
        Datastore b = Datastore.create(dir.resolve("b"), OPTIONS, 0)) {
      history(a, "vm", 2, new Random(8));
      a.pinChangeId(a.volumeInfo("vm").changeId(), "nightly");
      b.createVolume("taken", MIB).close();
      b.pinChangeId(b.volumeInfo("taken").changeId(), "nightly");
      try (VolumeTransplant t = VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults());
          Volume v = a.volume("vm")) {
        copyHead(v, t);
        assertThatThrownBy(() -> t.finish("taken")).hasMessageContaining("already has a volume taken");
        assertThatThrownBy(() -> t.finish("vm")).hasMessageContaining("pin 'nightly'");
        b.unpinChangeId("nightly");
        a.createSnapshot("vm", "late");
        assertThatThrownBy(() -> t.finish("vm")).hasMessageContaining("vm@late was made on the source");
        a.deleteSnapshot("vm", "late");
        a.deleteSnapshot("vm", "s0"); // deleted during the move: deleted on the copy at the switch
        t.finish("vm2");
        assertThatThrownBy(t::abort).isInstanceOf(IllegalStateException.class);
      }
      assertThat(b.snapshots("vm2")).extracting(SnapshotInfo::name).containsExactly("s1");
      MetaStore meta = b.parts().meta();
      byte[] record = meta.get(meta.catalog, Keys.catalog('v', b.parts().volumes().get("vm2").id));
      assertThat(new String(record, java.nio.charset.StandardCharsets.UTF_8)).as("published: no incoming mark")
          .doesNotContain("incoming");
      assertThat(b.changePins("vm2")).extracting(ChangePin::label).containsExactly("nightly");
      assertThat(b.check().problems()).isEmpty();
      try (Volume x = a.volume("vm"); Volume y = b.volume("vm2")) {
        assertSameContent(x, y, x.size());
      }
      assertThatThrownBy(() -> VolumeTransplant.begin(a, "vm", b, TransplantOptions.defaults()))
          .hasMessageContaining("has the same uuid");
    }
  }
}
