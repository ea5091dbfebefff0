package io.vstore.engine.move;

import static org.assertj.core.api.Assertions.assertThat;

import io.vstore.blockstore.BlockDevice;
import io.vstore.blockstore.testing.ModelRun;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;

/**
 * A client of a moving volume and its model: random writes, zeroings, discards and flushes through
 * one handle, each applied to a byte array; remembers what the last flush made durable.
 */
final class ModelClient {
  static final int BLOCK = 4096;
  private final ModelRun run;
  private final Random random;
  private final int size;
  byte[] model;
  private byte[] flushed;
  private final BitSet dirty;
  /** Blocks written, zeroed or discarded since {@link #forgetTouched}. */
  final BitSet touched;
  BlockDevice device;
  private int step;

  ModelClient(ModelRun run, BlockDevice device, int size) {
    this.run = run;
    this.random = run.random();
    this.device = device;
    this.size = size;
    this.model = new byte[size];
    this.flushed = new byte[size];
    this.dirty = new BitSet(size / BLOCK);
    this.touched = new BitSet(size / BLOCK);
  }

  /** Starts counting touched blocks afresh. */
  void forgetTouched() {
    touched.clear();
  }

  /** Writes {@code count} random extents of data, leaving holes between, and flushes. */
  void fill(int count) throws IOException {
    for (int i = 0; i < count; i++) {
      int offset = random.nextInt(size / BLOCK) * BLOCK;
      int length = Math.min(size - offset, (1 + random.nextInt(64)) * BLOCK);
      write(offset, length);
    }
    flush();
  }

  /** Does {@code count} random operations. */
  void ops(int count) throws IOException {
    for (int i = 0; i < count; i++) {
      int kind = random.nextInt(20);
      int offset = random.nextInt(size);
      int length = Math.min(size - offset, 1 + random.nextInt(random.nextBoolean() ? 8192 : 3 << 20));
      if (kind < 13) {
        run.step(step++, "write " + offset + "+" + length);
        write(offset, length);
      } else if (kind < 16) {
        run.step(step++, "write-zeroes " + offset + "+" + length);
        device.writeZeroes(offset, length, random.nextBoolean());
        zero(offset, length);
      } else if (kind < 18) {
        run.step(step++, "discard " + offset + "+" + length);
        device.discard(offset, length);
        zero(offset, length);
      } else {
        run.step(step++, "flush");
        flush();
      }
    }
  }

  /** Writes {@code count} random extents of data and flushes nothing (nothing may wait for a commit). */
  void writes(int count) throws IOException {
    for (int i = 0; i < count; i++) {
      int offset = random.nextInt(size);
      int length = Math.min(size - offset, 1 + random.nextInt(8192));
      run.step(step++, "write " + offset + "+" + length);
      write(offset, length);
    }
  }

  private void write(int offset, int length) throws IOException {
    byte[] data = new byte[length];
    if (random.nextInt(8) != 0) {
      random.nextBytes(data);
    }
    device.write(offset, ByteBuffer.wrap(data));
    System.arraycopy(data, 0, model, offset, length);
    dirty.set(offset / BLOCK, (offset + length - 1) / BLOCK + 1);
    touched.set(offset / BLOCK, (offset + length - 1) / BLOCK + 1);
  }

  private void zero(int offset, int length) {
    Arrays.fill(model, offset, offset + length, (byte) 0);
    dirty.set(offset / BLOCK, (offset + length - 1) / BLOCK + 1);
    touched.set(offset / BLOCK, (offset + length - 1) / BLOCK + 1);
  }

  void flush() throws IOException {
    device.flush();
    flushed = model.clone();
    dirty.clear();
  }

  /** Checks that {@code d} holds what the model holds. */
  void assertSame(BlockDevice d, String what) throws IOException {
    byte[] got = readAll(d);
    for (int b = 0; b < size / BLOCK; b++) {
      if (!Arrays.equals(got, b * BLOCK, (b + 1) * BLOCK, model, b * BLOCK, (b + 1) * BLOCK)) {
        throw new AssertionError(what + " differs from the model in block " + b + " (offset " + (long) b * BLOCK + ")");
      }
    }
  }

  /** Checks that {@code d} holds {@code expected}. */
  static void assertSame(BlockDevice d, byte[] expected, String what) throws IOException {
    byte[] got = readAll(d);
    for (int b = 0; b < expected.length / BLOCK; b++) {
      if (!Arrays.equals(got, b * BLOCK, (b + 1) * BLOCK, expected, b * BLOCK, (b + 1) * BLOCK)) {
        throw new AssertionError(what + " differs in block " + b + " (offset " + (long) b * BLOCK + ")");
      }
    }
  }

  /**
   * After a crash: checks that every block not written since the last flush holds what that flush
   * made durable, then takes what {@code d} holds as the model.
   */
  void recover(BlockDevice d) throws IOException {
    byte[] got = readAll(d);
    for (int b = 0; b < size / BLOCK; b++) {
      if (!dirty.get(b)) {
        assertThat(Arrays.equals(got, b * BLOCK, (b + 1) * BLOCK, flushed, b * BLOCK, (b + 1) * BLOCK))
            .as("block %d, unchanged since the last flush, survives the crash", b).isTrue();
      }
    }
    model = got;
    flushed = got.clone();
    dirty.clear();
    device = d;
  }

  static byte[] readAll(BlockDevice d) throws IOException {
    byte[] out = new byte[(int) d.size()];
    ByteBuffer b = ByteBuffer.wrap(out);
    d.read(0, b);
    return out;
  }
}
