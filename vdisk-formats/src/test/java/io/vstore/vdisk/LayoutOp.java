package io.vstore.vdisk;

import io.vstore.blockstore.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One write, zero write or discard that both qemu-io and vstore can perform, and that a raw model
 * file can mirror, so that the layout matrix feeds the same requests to both tools.
 *
 * @param kind what the request does
 * @param offset first byte
 * @param length bytes
 * @param seed for writes, the seed of the pattern: a prime-length random block repeated from the
 *     write's first byte, so that data shifted by any power of two reads differently
 */
record LayoutOp(Kind kind, long offset, long length, int seed) {
  /** What a request does. */
  enum Kind { WRITE, ZERO, ZERO_UNMAP, DISCARD }

  /** Pattern lengths: primes, so no cluster, grain or block size is a multiple of one. */
  private static final int[] PATTERN_LENGTHS = {4093, 509, 8191, 1021};

  LayoutOp {
    if (offset < 0 || length <= 0) {
      throw new IllegalArgumentException("bad op: offset " + offset + " length " + length);
    }
  }

  /** Returns a write of {@code length} pattern bytes at {@code offset}. */
  static LayoutOp write(long offset, long length, int seed) {
    return new LayoutOp(Kind.WRITE, offset, length, seed);
  }

  /** Returns a zero write that must not release space. */
  static LayoutOp zero(long offset, long length) {
    return new LayoutOp(Kind.ZERO, offset, length, 0);
  }

  /** Returns a zero write that may release space. */
  static LayoutOp zeroUnmap(long offset, long length) {
    return new LayoutOp(Kind.ZERO_UNMAP, offset, length, 0);
  }

  /** Returns a discard. */
  static LayoutOp discard(long offset, long length) {
    return new LayoutOp(Kind.DISCARD, offset, length, 0);
  }

  /** Returns the repeating pattern block of this write. */
  byte[] pattern() {
    byte[] p = new byte[PATTERN_LENGTHS[Math.floorMod(seed, PATTERN_LENGTHS.length)]];
    new Random(seed).nextBytes(p);
    p[0] = (byte) (p[0] | 1); // never an all-zero block, whatever the seed
    return p;
  }

  /** Returns the qemu-io command for this request; writes read their pattern from a file in {@code dir}. */
  String qemuIo(Path dir) throws IOException {
    return switch (kind) {
      case WRITE -> {
        Path pat = dir.resolve("pattern-" + seed + ".bin");
        if (!Files.exists(pat)) {
          Files.write(pat, pattern());
        }
        yield "write -s " + pat + " " + offset + " " + length;
      }
      case ZERO -> "write -z " + offset + " " + length;
      case ZERO_UNMAP -> "write -z -u " + offset + " " + length;
      case DISCARD -> "discard " + offset + " " + length;
    };
  }

  /** Performs this request on {@code device}, in pieces of at most 1 MiB. */
  void apply(BlockDevice device) throws IOException {
    switch (kind) {
      case WRITE -> {
        for (long done = 0; done < length; ) {
          ByteBuffer b = fill(done, (int) Math.min(1 << 20, length - done));
          device.write(offset + done, b);
          done += b.capacity();
        }
      }
      case ZERO -> device.writeZeroes(offset, length, false);
      case ZERO_UNMAP -> device.writeZeroes(offset, length, true);
      case DISCARD -> device.discard(offset, length);
    }
  }

  /** Mirrors this request in a raw model file, where a zero write and a discard both leave zeros. */
  void apply(FileChannel model) throws IOException {
    for (long done = 0; done < length; ) {
      int n = (int) Math.min(1 << 20, length - done);
      ByteBuffer b = kind == Kind.WRITE ? fill(done, n) : ByteBuffer.allocate(n);
      while (b.hasRemaining()) {
        model.write(b, offset + done + b.position());
      }
      done += n;
    }
  }

  /** Returns the {@code n} pattern bytes that start {@code from} bytes into the write. */
  private ByteBuffer fill(long from, int n) {
    byte[] p = pattern();
    byte[] out = new byte[n];
    for (int i = 0; i < n; i++) {
      out[i] = p[(int) ((from + i) % p.length)];
    }
    return ByteBuffer.wrap(out);
  }

  @Override
  public String toString() {
    return kind + "@" + offset + "+" + length;
  }

  /**
   * Returns the requests qemu-io makes in a fresh image of {@code size} bytes: unaligned writes,
   * writes that cross cluster and block boundaries, writes into two subclusters of one cluster,
   * zero writes inside data and over nothing, a discard of part of a written range, and writes and
   * a zero write in the last sector.
   */
  static List<LayoutOp> first(long size) {
    List<LayoutOp> ops = new ArrayList<>();
    long half = size / 2;
    ops.add(write(1000, 3000, 1));
    ops.add(write(61_000, 9000, 2));
    ops.add(write(1 << 20, 1_200_000, 3));
    ops.add(zero(1_310_720, 300_000));
    ops.add(write(3 << 20, 1 << 20, 4));
    ops.add(discard(3 << 20, 512 << 10));
    ops.add(zeroUnmap(5 << 20, 1 << 20));
    ops.add(write(half + 4097, 5000, 5));
    long boundary = boundary(size);
    // The second 2 KiB subcluster of a 64 KiB cluster exactly, and 100 bytes of the fifth.
    ops.add(write(boundary + (2 << 20) + 2048, 2048, 6));
    ops.add(write(boundary + (2 << 20) + 10_000, 100, 7));
    ops.add(write(boundary - 3000, 6000, 8));
    ops.add(write(size - 1500, 1500, 9));
    ops.add(zero(size - 700, 300));
    return List.copyOf(ops);
  }

  /**
   * Returns the requests that qemu-io makes in an image that already holds {@link #first} below
   * it (a backing file or an internal snapshot): zero writes and a discard over the older data and
   * partial writes of its clusters.
   */
  static List<LayoutOp> second(long size) {
    return List.of(
        write(size / 4 + 777, 100_000, 11),
        zero(1000, 2000),
        zero(1 << 20, 1 << 20),
        write(3 << 20, 4096, 12),
        discard(61_440, 4096),
        write(size - 4096, 10, 13));
  }

  /**
   * Returns the requests vstore makes in an image that already holds data: unaligned writes over
   * written, zeroed and discarded ranges, zero writes with and without unmapping, unaligned
   * discards, and writes at the very end.
   */
  static List<LayoutOp> third(long size) {
    long half = size / 2;
    return List.of(
        write(500, 7777, 21),
        write(65_530, 100, 22),
        write((1 << 20) + 333, 200_000, 23),
        zero((2 << 20) + 100, 70_000),
        zeroUnmap(3 << 20, 1 << 20),
        write((3 << 20) + 65_536, 1000, 24),
        discard(half - 1000, (2 << 20) + 3000),
        write(boundary(size) - 70_000, 140_000, 25),
        write(size * 3 / 4 + 12_345, 300_000, 26),
        discard(1 << 20, 1 << 20),
        write((1 << 20) + 4096, 512, 27),
        write(size - 4096, 4096, 28),
        write(size - 1, 1, 29));
  }

  /**
   * Returns a boundary worth crossing: 2 GiB (the VMDK extent size) in images larger than that,
   * else the middle rounded down to 1 MiB (a block boundary of every format).
   */
  private static long boundary(long size) {
    return size > (2L << 30) + (1 << 20) ? 2L << 30 : size / 2 & -(1L << 20);
  }
}
