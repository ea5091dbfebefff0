package io.vstore.offline.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vstore.blockstore.AtomicFiles;
import io.vstore.blockstore.store.Volume;
import io.vstore.offline.Frame;
import io.vstore.offline.FrameReader;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Makes a check-in all or nothing. The client's frames are first staged, as received and
 * checked, in {@code <id>.stage}; once the whole stream has arrived and is synced, the commit
 * marker {@code <id>.apply} (the check-in's number and options) is written atomically. Only then
 * are the frames applied to the server copy. After a crash, a marker means roll forward (apply the
 * whole log again: the server copy is locked, so the same writes in the same order give the same
 * result), a staging log without one means roll back (delete it: nothing was applied).
 */
final class CheckinLog {
  /** The commit marker's content. */
  record Marker(int checkin, boolean keep, long changedBytes, long bytesBack) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private CheckinLog() {}

  static Path stage(Path dir, String id) {
    return dir.resolve(id + ".stage");
  }

  static Path marker(Path dir, String id) {
    return dir.resolve(id + ".apply");
  }

  /** What staging found in the stream: bytes received and bytes of disk ranges changed. */
  record Staged(long bytesReceived, long changedBytes) {}

  /**
   * Reads the client's frames from {@code in}, checking each (disk index and range against
   * {@code disks}), copying the bytes as received to the staging log, synced at the end.
   */
  static Staged receive(Path dir, String id, InputStream in, List<CheckoutRecord.Disk> disks) throws IOException {
    Path stage = stage(dir, id);
    Files.deleteIfExists(marker(dir, id));
    boolean success = false;
    try (FileChannel ch = FileChannel.open(stage, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
        OutputStream copy = Channels.newOutputStream(ch)) {
      InputStream tee = new Tee(new BufferedInputStream(in, 1 << 20), copy);
      FrameReader reader = new FrameReader(tee, "the check-in of " + id);
      long changed = 0;
      for (Frame f = reader.next(); f != null && f.type() != Frame.Type.END; f = reader.next()) {
        checkFrame(f, disks);
        changed += f.length();
      }
      ch.force(true);
      success = true;
      return new Staged(reader.bytesRead(), changed);
    } finally {
      if (!success) {
        Files.deleteIfExists(stage);
      }
    }
  }

  /** Writes the commit marker: from now on the check-in rolls forward. */
  static void commit(Path dir, String id, Marker m) throws IOException {
    AtomicFiles.replace(marker(dir, id), JSON.writeValueAsBytes(m));
  }

  /** Reads the commit marker, or null when there is none. */
  static Marker readMarker(Path dir, String id) throws IOException {
    Path f = marker(dir, id);
    return Files.exists(f) ? JSON.readValue(f.toFile(), Marker.class) : null;
  }

  /** Applies the staged frames to {@code volumes} (by disk index) and flushes them. */
  static void apply(Path dir, String id, List<CheckoutRecord.Disk> disks, VolumeOpener volumes) throws IOException {
    Volume[] open = new Volume[disks.size()];
    try (InputStream in = new BufferedInputStream(Files.newInputStream(stage(dir, id)), 1 << 20)) {
      FrameReader reader = new FrameReader(in, "staged check-in " + stage(dir, id));
      for (Frame f = reader.next(); f != null && f.type() != Frame.Type.END; f = reader.next()) {
        int slot = checkFrame(f, disks);
        if (open[slot] == null) {
          open[slot] = volumes.open(disks.get(slot).volume());
        }
        if (f.type() == Frame.Type.DATA) {
          open[slot].write(f.offset(), ByteBuffer.wrap(f.data()));
        } else {
          open[slot].writeZeroes(f.offset(), f.length(), true);
        }
      }
      for (Volume v : open) {
        if (v != null) {
          v.flush();
        }
      }
    } finally {
      IOException failure = null;
      for (Volume v : open) {
        if (v != null) {
          try {
            v.close();
          } catch (IOException e) {
            failure = e;
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }

  /** Deletes the marker, then the staging log: the check-in is finished (or, without a marker, abandoned). */
  static void finish(Path dir, String id) throws IOException {
    Files.deleteIfExists(marker(dir, id));
    Files.deleteIfExists(stage(dir, id));
  }

  /** Opens a server volume for writing by the check-in. */
  @FunctionalInterface
  interface VolumeOpener {
    Volume open(String name) throws IOException;
  }

  private static int checkFrame(Frame f, List<CheckoutRecord.Disk> disks) throws IOException {
    for (int i = 0; i < disks.size(); i++) {
      CheckoutRecord.Disk d = disks.get(i);
      if (d.index() == f.disk()) {
        if (f.offset() + f.length() > d.size()) {
          throw new io.vstore.offline.TransferException("bad check-in: disk " + f.disk() + " range at " + f.offset()
              + " of " + f.length() + " bytes ends beyond its size " + d.size());
        }
        return i;
      }
    }
    throw new io.vstore.offline.TransferException("bad check-in: disk " + f.disk() + " is not part of the check-out");
  }

  /** Copies what is read to a second stream (the staging log) as it passes. */
  private static final class Tee extends FilterInputStream {
    private final OutputStream copy;

    Tee(InputStream in, OutputStream copy) {
      super(in);
      this.copy = copy;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        copy.write(b);
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        copy.write(b, off, n);
      }
      return n;
    }
  }
}
