package io.vstore.blockstore.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IoUringTest {
  private static final int FILE_SIZE = 1 << 20;

  @TempDir Path dir;
  private Path file;
  private byte[] content;
  private int fd = -1;
  private Arena arena;

  @BeforeEach
  void createFile() throws IOException {
    content = new byte[FILE_SIZE];
    new Random(1).nextBytes(content);
    file = Files.write(dir.resolve("data"), content);
    fd = NativeFiles.openReadOnly(file);
    arena = Arena.ofShared();
  }

  @AfterEach
  void closeFile() throws IOException {
    NativeFiles.close(fd);
    arena.close();
  }

  /** One read: where, how much, and the buffer slot it fills. */
  private record Read(long offset, int length, int slot) {}

  @ParameterizedTest(name = "singleIssuer={0}")
  @ValueSource(booleans = {false, true})
  void randomReadsWithManyInFlightMatchFileChannel(boolean singleIssuer) throws IOException {
    if (!Rings.required()) {
      return;
    }
    long seed = System.nanoTime();
    Random random = new Random(seed);
    int maxLength = 64 << 10;
    int reads = Boolean.parseBoolean(System.getenv("CI")) ? 1000 : 3000;
    try (IoUring ring = IoUring.open(64, singleIssuer);
        FileChannel channel = FileChannel.open(file)) {
      int slots = ring.entries() * 2;
      MemorySegment buffer = arena.allocate((long) slots * maxLength, 4096);
      ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
      for (int i = 0; i < slots; i++) {
        freeSlots.add(i);
      }
      Read[] pending = new Read[reads];
      int issued = 0;
      int completed = 0;
      int maxInFlight = 0;
      while (completed < reads) {
        while (issued < reads && !freeSlots.isEmpty() && ring.freeSlots() > 0) {
          // Some reads start past the end of the file or straddle it.
          long offset = random.nextInt(FILE_SIZE + 2 * maxLength);
          int length = random.nextInt(maxLength + 1);
          int slot = freeSlots.poll();
          pending[issued] = new Read(offset, length, slot);
          assertThat(ring.prepareRead(fd, buffer.address() + (long) slot * maxLength, length,
              offset, issued)).isTrue();
          issued++;
        }
        ring.submitAndWait(1);
        maxInFlight = Math.max(maxInFlight, ring.inFlight());
        List<long[]> done = new ArrayList<>();
        ring.drainCompletions((userData, result) -> done.add(new long[] {userData, result}));
        for (long[] completion : done) {
          Read read = pending[(int) completion[0]];
          String where = "seed " + seed + ", read " + completion[0] + " " + read;
          ByteBuffer expected = ByteBuffer.allocate(read.length());
          int n = Math.max(0, channel.read(expected, read.offset()));
          assertThat((int) completion[1]).as(where).isEqualTo(n);
          byte[] actual = buffer.asSlice((long) read.slot() * maxLength, n).toArray(
              java.lang.foreign.ValueLayout.JAVA_BYTE);
          assertThat(actual).as(where).isEqualTo(Arrays.copyOf(expected.array(), n));
          freeSlots.add(read.slot());
          completed++;
        }
      }
      assertThat(maxInFlight).as("reads in flight at once").isGreaterThan(1);
      assertThat(ring.inFlight()).isZero();
    }
  }

  @Test
  void readAtEndOfFileReturnsZeroAndStraddlingReadTheShortCount() throws IOException {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(8192);
    try (IoUring ring = IoUring.open(4, false)) {
      ring.prepareRead(fd, buffer.asSlice(0, 4096), FILE_SIZE, 1);
      ring.prepareRead(fd, buffer.asSlice(4096, 4096), FILE_SIZE - 100, 2);
      assertThat(ring.submitAndWait(2)).isEqualTo(2);
      long[] results = new long[3];
      assertThat(ring.drainCompletions((userData, result) -> results[(int) userData] = result))
          .isEqualTo(2);
      assertThat(results[1]).isZero();
      assertThat(results[2]).isEqualTo(100);
      assertThat(buffer.asSlice(4096, 100).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
          .isEqualTo(Arrays.copyOfRange(content, FILE_SIZE - 100, FILE_SIZE));
    }
  }

  @Test
  void badDescriptorCompletesWithEbadfAndTheRingKeepsWorking() throws IOException {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(4096);
    try (IoUring ring = IoUring.open(4, false)) {
      // Closed after the ring is made, so the ring's own fd cannot take over its number.
      int closedFd = NativeFiles.openReadOnly(file);
      NativeFiles.close(closedFd);
      ring.prepareRead(closedFd, buffer, 0, 7);
      ring.prepareRead(fd, buffer, 4096, 8);
      ring.submitAndWait(2);
      long[] results = new long[9];
      ring.drainCompletions((userData, result) -> results[(int) userData] = result);
      assertThat(results[7]).isEqualTo(-9);
      assertThat(results[8]).isEqualTo(4096);
      assertThat(buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
          .isEqualTo(Arrays.copyOfRange(content, 4096, 8192));
    }
  }

  @Test
  void fullSubmissionQueueRefusesUntilSubmitted() throws IOException {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(512);
    try (IoUring ring = IoUring.open(8, false)) {
      assertThat(ring.entries()).isEqualTo(8);
      for (int i = 0; i < 8; i++) {
        assertThat(ring.prepareRead(fd, buffer, i * 512L, i)).isTrue();
      }
      assertThat(ring.freeSlots()).isZero();
      assertThat(ring.prepareRead(fd, buffer, 0, 99)).isFalse();
      assertThat(ring.submit()).isEqualTo(8);
      assertThat(ring.prepareRead(fd, buffer, 0, 8)).isTrue();
      // The completion queue holds 16: 8 in flight and 8 more queued fill it, so it refuses again.
      for (int i = 9; i < 16; i++) {
        assertThat(ring.prepareRead(fd, buffer, 0, i)).isTrue();
      }
      assertThat(ring.prepareRead(fd, buffer, 0, 99)).isFalse();
      ring.submitAndWait(16);
      List<Long> seen = new ArrayList<>();
      ring.drainCompletions((userData, result) -> {
        assertThat(result).isEqualTo(512);
        seen.add(userData);
      });
      assertThat(seen).containsExactlyInAnyOrder(
          0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);
      assertThat(ring.freeSlots()).isEqualTo(8);
    }
  }

  @Test
  void singleIssuerRingWorksOnItsPlatformThreadAndRefusesOthers() throws Exception {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(4096);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<IoUring> opened = new AtomicReference<>();
    Thread owner = Thread.ofPlatform().name("ring-owner").start(() -> {
      try {
        IoUring ring = IoUring.open(16, true);
        opened.set(ring);
        int taskRun = ring.flags() & ~IoUring.SETUP_NO_SQARRAY;
        assertThat(taskRun).as("flags of %s", ring).isIn(
            IoUring.SETUP_SINGLE_ISSUER | IoUring.SETUP_DEFER_TASKRUN,
            IoUring.SETUP_COOP_TASKRUN, 0);
        System.out.println("open(16, true) on this kernel: " + ring);
        for (int round = 0; round < 50; round++) {
          assertThat(ring.prepareRead(fd, buffer, round * 4096L, round)).isTrue();
          ring.submitAndWait(1);
          long[] got = {-1, -1};
          assertThat(ring.drainCompletions((u, r) -> {
            got[0] = u;
            got[1] = r;
          })).isEqualTo(1);
          assertThat(got).containsExactly(round, 4096);
          assertThat(buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
              .isEqualTo(Arrays.copyOfRange(content, round * 4096, round * 4096 + 4096));
        }
      } catch (Throwable t) {
        failure.set(t);
      }
    });
    owner.join();
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
    IoUring ring = opened.get();
    try {
      if ((ring.flags() & IoUring.SETUP_SINGLE_ISSUER) != 0) {
        ring.prepareRead(fd, buffer, 0, 1);
        assertThatThrownBy(ring::submit)
            .isInstanceOf(IOException.class)
            .hasMessageContaining("(EEXIST)")
            .hasMessageContaining("belongs to the thread that opened it");
      }
    } finally {
      ring.close();
    }
  }

  @Test
  void closeIsIdempotentAndUseAfterCloseFails() throws IOException {
    if (!Rings.required()) {
      return;
    }
    IoUring ring = IoUring.open(2, false);
    ring.close();
    ring.close();
    MemorySegment buffer = arena.allocate(16);
    assertThatThrownBy(() -> ring.prepareRead(fd, buffer, 0, 0))
        .isInstanceOf(AlreadyClosedException.class);
    assertThatThrownBy(ring::submit).isInstanceOf(AlreadyClosedException.class);
    assertThatThrownBy(() -> ring.drainCompletions((u, r) -> { }))
        .isInstanceOf(AlreadyClosedException.class);
  }

  @Test
  void manyRingsOpenedAndClosedLeakNoDescriptorsOrMappings() throws IOException {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(512);
    // Warm up class loading and thread-local buffers so they do not count as leaks.
    IoUring.open(8, true).close();
    long descriptors = Rings.ringDescriptors();
    long mappings = Rings.ringMappings();
    for (int i = 0; i < 200; i++) {
      try (IoUring ring = IoUring.open(1 + i % 300, i % 2 == 0)) {
        ring.prepareRead(fd, buffer, i, i);
        ring.submitAndWait(1);
        ring.drainCompletions((u, r) -> assertThat(r).isEqualTo(512));
      }
    }
    // Rings closed with reads still in flight must not leak either.
    for (int i = 0; i < 20; i++) {
      IoUring ring = IoUring.open(8, i % 2 == 0);
      ring.prepareRead(fd, buffer, 0, 0);
      ring.submit();
      ring.prepareRead(fd, buffer, 0, 1); // queued, never submitted: dropped by close
      ring.close();
      assertThat(ring.closedCleanly()).as("close of %s reaped its read", ring).isTrue();
    }
    assertThat(Rings.ringDescriptors()).isEqualTo(descriptors);
    assertThat(Rings.ringMappings()).isEqualTo(mappings);
  }

  @Test
  void entriesRoundUpToAPowerOfTwoAndClamp() throws IOException {
    if (!Rings.required()) {
      return;
    }
    try (IoUring a = IoUring.open(5, false);
        IoUring b = IoUring.open(1, false);
        IoUring c = IoUring.open(1 << 20, false)) {
      assertThat(a.entries()).isEqualTo(8);
      assertThat(b.entries()).isEqualTo(1);
      assertThat(c.entries()).isEqualTo(IoUring.MAX_ENTRIES);
      assertThat(a.freeSlots()).isEqualTo(8);
    }
    assertThatThrownBy(() -> IoUring.open(0, false)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void badArgumentsAreRefusedBeforeTheKernelSeesThem() throws IOException {
    if (!Rings.required()) {
      return;
    }
    MemorySegment buffer = arena.allocate(16);
    try (IoUring ring = IoUring.open(4, false)) {
      assertThatThrownBy(() -> ring.prepareRead(fd, 0L, 16, 0, 0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ring.prepareRead(fd, buffer.address(), -1, 0, 0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ring.prepareRead(fd, buffer.address(), 16, -2, 0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ring.prepareRead(-1, buffer.address(), 16, 0, 0))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ring.prepareRead(fd, MemorySegment.ofArray(new byte[16]), 0, 0))
          .isInstanceOf(IllegalArgumentException.class);
      // Nothing in flight: waiting for a completion would never return.
      assertThatThrownBy(() -> ring.submitAndWait(1)).isInstanceOf(IllegalArgumentException.class);
      assertThat(ring.submitAndWait(0)).isZero();
      assertThat(ring.freeSlots()).isEqualTo(4);
    }
  }

  @Test
  void availabilityIsReportedWithAReasonOnlyWhenUnavailable() {
    if (IoUring.available()) {
      assertThat(IoUring.unavailableReason()).isNull();
    } else {
      assertThat(IoUring.unavailableReason()).isNotBlank();
      Rings.required();
    }
  }
}
