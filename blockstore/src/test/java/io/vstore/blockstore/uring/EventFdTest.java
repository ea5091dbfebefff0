package io.vstore.blockstore.uring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vstore.blockstore.AlreadyClosedException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class EventFdTest {
  @ParameterizedTest(name = "singleIssuer={0}")
  @ValueSource(booleans = {false, true})
  void signalFromAnotherThreadWakesTheOwnerWaitingInTheRing(boolean singleIssuer)
      throws Exception {
    if (!Rings.required()) {
      return;
    }
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try (EventFd event = EventFd.create(); Arena arena = Arena.ofShared()) {
      MemorySegment counter = arena.allocate(Long.BYTES);
      Thread owner = Thread.ofPlatform().name("ring-owner").start(() -> {
        try (IoUring ring = IoUring.open(4, singleIssuer)) {
          for (int round = 1; round <= 3; round++) {
            assertThat(ring.prepareRead(event.fd(), counter, -1, round)).isTrue();
            // Not waiting yet: the read stays pending (an EAGAIN completion would show up here).
            ring.submitAndWait(0);
            assertThat(ring.drainCompletions((u, r) -> { })).as("completions before signal")
                .isZero();
            Thread signaller = Thread.ofPlatform().start(() -> {
              try {
                // Give the owner time to block in the kernel, so the wake-up path is exercised.
                Thread.sleep(50);
                event.signal();
              } catch (IOException | InterruptedException e) {
                failure.compareAndSet(null, e);
              }
            });
            ring.submitAndWait(1);
            long[] got = {0, 0};
            assertThat(ring.drainCompletions((u, r) -> {
              got[0] = u;
              got[1] = r;
            })).isEqualTo(1);
            assertThat(got).containsExactly(round, Long.BYTES);
            assertThat(counter.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1L);
            signaller.join();
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
      });
      owner.join();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
  }

  @Test
  void signalsBeforeTheReadMergeIntoOne() throws IOException {
    if (!Rings.required()) {
      return;
    }
    try (EventFd event = EventFd.create(); Arena arena = Arena.ofConfined();
        IoUring ring = IoUring.open(2, false)) {
      MemorySegment counter = arena.allocate(Long.BYTES);
      event.signal();
      event.signal();
      ring.prepareRead(event.fd(), counter, -1, 5);
      ring.submitAndWait(1);
      int[] result = {0};
      ring.drainCompletions((u, r) -> result[0] = r);
      assertThat(result[0]).isEqualTo(Long.BYTES);
      assertThat(counter.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(2L);
    }
  }

  @Test
  void closingARingWithAPendingEventFdReadReturns() throws IOException {
    if (!Rings.required()) {
      return;
    }
    long descriptors = Rings.ringDescriptors();
    try (EventFd event = EventFd.create(); Arena arena = Arena.ofConfined()) {
      MemorySegment counter = arena.allocate(Long.BYTES);
      IoUring ring = IoUring.open(2, false);
      ring.prepareRead(event.fd(), counter, -1, 1);
      ring.submit();
      assertThat(ring.inFlight()).isEqualTo(1);
      ring.close();
      assertThat(ring.closedCleanly()).as("pending read cancelled and reaped by close").isTrue();
      event.signal();
    }
    assertThat(Rings.ringDescriptors()).isEqualTo(descriptors);
  }

  @Test
  void closeIsIdempotentAndSignalAfterCloseFails() throws IOException {
    EventFd event = EventFd.create();
    assertThat(event.fd()).isNotNegative();
    event.close();
    event.close();
    assertThatThrownBy(event::signal).isInstanceOf(AlreadyClosedException.class);
    assertThatThrownBy(event::fd).isInstanceOf(AlreadyClosedException.class);
  }
}
