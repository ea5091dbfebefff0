package io.vstore.blockstore.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The ordering of flush commits: tickets, waiting for one's turn, and failure. */
class CommitOrderTest {

  /** Starts {@code body} in a thread and returns once that thread waits inside the commit order. */
  private static Thread startWaiting(CommitOrder order, ThrowingRunnable body, AtomicReference<Throwable> error)
      throws InterruptedException {
    Thread t = Thread.ofPlatform().start(() -> {
      try {
        body.run();
      } catch (Throwable e) {
        error.set(e);
      }
    });
    while (t.getState() != Thread.State.WAITING && t.isAlive()) {
      Thread.sleep(1);
    }
    return t;
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void ticketsFollowIssueOrder() {
    CommitOrder order = new CommitOrder();
    assertThat(order.newest()).isZero();
    assertThat(order.issue()).isEqualTo(1);
    assertThat(order.issue()).isEqualTo(2);
    assertThat(order.newest()).isEqualTo(2);
  }

  @Test
  void aCommitWaitsForEveryEarlierTicket() throws Exception {
    CommitOrder order = new CommitOrder();
    long first = order.issue();
    long second = order.issue();
    order.awaitTurn(first); // nothing before the first ticket

    AtomicBoolean turn = new AtomicBoolean();
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread t = startWaiting(order, () -> {
      order.awaitTurn(second);
      turn.set(true);
    }, error);
    assertThat(t.isAlive()).as("the second commit waits for the first").isTrue();
    assertThat(turn).isFalse();

    order.committed(first);
    t.join();
    assertThat(error.get()).isNull();
    assertThat(turn).isTrue();
  }

  @Test
  void awaitCommittedReturnsOnceTheTicketAndEveryEarlierOneIsCommitted() throws Exception {
    CommitOrder order = new CommitOrder();
    order.awaitCommitted(order.newest()); // nothing issued: nothing to wait for
    long ticket = order.issue();
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread t = startWaiting(order, () -> order.awaitCommitted(ticket), error);
    assertThat(t.isAlive()).isTrue();

    order.committed(ticket);
    t.join();
    assertThat(error.get()).isNull();
    order.awaitCommitted(ticket);
  }

  @Test
  void aFailureWakesWaitersAndFailsEveryLaterCommitAndWrite() throws Exception {
    CommitOrder order = new CommitOrder();
    long first = order.issue();
    long second = order.issue();
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread t = startWaiting(order, () -> order.awaitTurn(second), error);

    order.failed(new IOException("disk gone"));
    order.failed(new IOException("second failure"));
    t.join();

    assertThat(error.get()).isInstanceOf(IOException.class).hasMessageContaining("disk gone")
        .hasMessageContaining("reopen the datastore");
    assertThatThrownBy(order::checkHealthy).isInstanceOf(IOException.class).hasMessageContaining("disk gone")
        .hasMessageNotContaining("second failure");
    assertThatThrownBy(() -> order.awaitCommitted(first)).hasMessageContaining("disk gone");
  }

  @Test
  void anInterruptedWaiterKeepsWaitingAndKeepsItsInterrupt() throws Exception {
    CommitOrder order = new CommitOrder();
    long ticket = order.issue();
    AtomicBoolean committed = new AtomicBoolean();
    AtomicBoolean returnedEarly = new AtomicBoolean();
    AtomicBoolean interruptedAfter = new AtomicBoolean();
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread t = startWaiting(order, () -> {
      order.awaitCommitted(ticket);
      returnedEarly.set(!committed.get());
      interruptedAfter.set(Thread.currentThread().isInterrupted());
    }, error);

    t.interrupt();
    Thread.sleep(50); // room for a wrong implementation to give up on the interrupt
    committed.set(true);
    order.committed(ticket);
    t.join();
    assertThat(error.get()).isNull();
    assertThat(returnedEarly).as("a commit in progress is never abandoned half-way").isFalse();
    assertThat(interruptedAfter).isTrue();
  }
}
