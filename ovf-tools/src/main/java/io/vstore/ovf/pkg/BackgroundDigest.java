package io.vstore.ovf.pkg;

import java.io.InterruptedIOException;
import java.security.MessageDigest;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;

/**
 * A digest computed on another thread, in order, from copies of the bytes given to it: the
 * manifest's digest of a disk is no longer on the thread that reads the package (the import's
 * critical path, while workers inflate the grains). Bytes are gathered into blocks of
 * {@value #BLOCK} bytes; at most {@value #BLOCKS} blocks exist, so a digest that falls behind
 * makes {@link #update} wait rather than hold more. Each block is digested by a task chained after
 * the previous one, so there is no thread to stop when a reader gives up half-way.
 */
final class BackgroundDigest {
  static final int BLOCK = 1 << 20;
  static final int BLOCKS = 16;

  private final MessageDigest digest;
  private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(BLOCKS);
  private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);
  private byte[] filling;
  private int filled;
  private int allocated;

  BackgroundDigest(MessageDigest digest) {
    this.digest = digest;
  }

  /** Adds {@code n} bytes of {@code b} from {@code off}, waiting for a free block if the digest is behind. */
  void update(byte[] b, int off, int n) throws InterruptedIOException {
    while (n > 0) {
      if (filling == null) {
        filling = takeBlock();
        filled = 0;
      }
      int k = Math.min(n, BLOCK - filled);
      System.arraycopy(b, off, filling, filled, k);
      filled += k;
      off += k;
      n -= k;
      if (filled == BLOCK) {
        submit();
      }
    }
  }

  /** Returns the digest of every byte given, once the blocks before are digested. */
  byte[] finish() throws InterruptedIOException {
    if (filling != null && filled > 0) {
      submit();
    }
    try {
      tail.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the manifest digest was computed");
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("manifest digest failed", e.getCause());
    }
    return digest.digest();
  }

  private void submit() {
    byte[] block = filling;
    int length = filled;
    filling = null;
    tail = tail.thenRunAsync(() -> {
      digest.update(block, 0, length);
      free.add(block);
    }, ForkJoinPool.commonPool());
  }

  private byte[] takeBlock() throws InterruptedIOException {
    byte[] block = free.poll();
    if (block != null) {
      return block;
    }
    if (allocated < BLOCKS) {
      allocated++;
      return new byte[BLOCK];
    }
    try {
      return free.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while the manifest digest was computed");
    }
  }
}
