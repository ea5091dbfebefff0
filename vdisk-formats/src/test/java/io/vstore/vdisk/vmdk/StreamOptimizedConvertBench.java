package io.vstore.vdisk.vmdk;

import io.vstore.vdisk.CreateOptions;
import io.vstore.vdisk.DiskImage;
import io.vstore.vdisk.ImageConversion;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Converts a raw image to streamOptimized VMDK the way a sparse-aware convert does: the raw
 * file's data extents (found with lseek SEEK_DATA/SEEK_HOLE, so holes are never read) are copied
 * in order into the stream writer. Used by {@code bench/scripts/vmdk-stream-bench.sh} until the
 * generic convert lands; prints the elapsed seconds and the output size.
 *
 * <p>Usage: {@code StreamOptimizedConvertBench RAW OUT.vmdk [generic]}; with {@code generic} the
 * conversion goes through {@link ImageConversion#convert} (what {@code vstore image convert} runs).
 */
public final class StreamOptimizedConvertBench {
  private static final int SEEK_DATA = 3;
  private static final int SEEK_HOLE = 4;
  private static final int CHUNK = 4 << 20;

  private StreamOptimizedConvertBench() {}

  /** Runs one conversion. */
  public static void main(String[] args) throws Throwable {
    Path raw = Path.of(args[0]);
    Path out = Path.of(args[1]);
    Files.deleteIfExists(out);
    long start = System.nanoTime();
    if (args.length > 2 && args[2].equals("generic")) {
      ImageConversion.Result r = ImageConversion.convert(raw, "raw", out, "vmdk",
          new CreateOptions(Map.of("subformat", "streamOptimized"), null, null));
      System.out.printf("vstore (image convert) seconds=%.2f bytes=%d written=%d%n", (System.nanoTime() - start) / 1e9,
          Files.size(out), r.bytesWritten());
      return;
    }
    long size = Files.size(raw);
    long copied = 0;
    try (FileChannel in = FileChannel.open(raw, StandardOpenOption.READ);
        DiskImage image = new VmdkFormat().create(out, size, new CreateOptions(Map.of("subformat", "streamOptimized"), null, null),
            VmdkTesting.chain());
        DataExtents extents = new DataExtents(raw)) {
      ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
      long pos = 0;
      while (pos < size) {
        long data = extents.seek(pos, SEEK_DATA, size);
        if (data >= size) {
          break;
        }
        long hole = Math.min(size, extents.seek(data, SEEK_HOLE, size));
        for (long p = data; p < hole; ) {
          buf.clear().limit((int) Math.min(CHUNK, hole - p));
          ChannelIo.readFully(in, p, buf, raw.toString());
          buf.flip();
          image.write(p, buf);
          p += buf.limit();
          copied += buf.limit();
        }
        pos = hole;
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("vstore seconds=%.2f bytes=%d read=%d%n", seconds, Files.size(out), copied);
  }

  /** lseek(SEEK_DATA/SEEK_HOLE) on a file through the FFM API; without it the whole file is data. */
  private static final class DataExtents implements AutoCloseable {
    private final int fd;
    private final MethodHandle lseek;
    private final MethodHandle close;

    DataExtents(Path file) throws Throwable {
      Linker linker = Linker.nativeLinker();
      var libc = linker.defaultLookup();
      MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
      lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
      close = linker.downcallHandle(libc.find("close").orElseThrow(),
          FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
      try (Arena arena = Arena.ofConfined()) {
        fd = (int) open.invokeExact(arena.allocateFrom(file.toString()), 0);
      }
    }

    long seek(long from, int whence, long size) throws Throwable {
      if (fd < 0) {
        return whence == SEEK_DATA ? from : size;
      }
      long r = (long) lseek.invokeExact(fd, from, whence);
      // ENXIO: no data after "from" (SEEK_DATA), which lseek reports as -1.
      return r < 0 ? size : r;
    }

    @Override
    public void close() throws Exception {
      if (fd >= 0) {
        try {
          int ignored = (int) close.invokeExact(fd);
        } catch (Throwable t) {
          throw new Exception("close(" + fd + ") failed", t);
        }
      }
    }
  }
}
