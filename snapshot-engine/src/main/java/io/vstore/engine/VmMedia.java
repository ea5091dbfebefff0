package io.vstore.engine;

import io.vstore.blockstore.store.Datastore;
import io.vstore.blockstore.store.Volume;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;

/**
 * The media files of the inventory's VMs ({@link MediaFile}): ISO and floppy images and NVRAM,
 * each in a volume of its own ({@code VM-media0}, {@code VM-media1}, ...) that lives and dies with
 * the VM. Adding one is written ahead like every inventory operation: the record first names the
 * file and its volume under a pending {@value #ADD}, the bytes are streamed into the volume (their
 * size and SHA-256 taken on the way), and then the record is completed; a failure or crash midway
 * deletes the volume and the entry, so nothing half-written is ever listed. Removing is the same
 * with {@value #REMOVE}, rolled forward.
 */
public final class VmMedia {
  /** The pending operation of an unfinished add (undone: volume and entry deleted). */
  static final String ADD = "media-add";
  /** The pending operation of an unfinished remove (finished: volume and entry deleted). */
  static final String REMOVE = "media-remove";
  /** Largest media file: a dual-layer Blu-ray image is 50 GB. */
  public static final long MAX_BYTES = 64L << 30;
  /** Most media files a VM may have. */
  public static final int MAX_FILES = 64;
  /** Media file names: a plain file name, as an OVF href may carry it. */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final int BUFFER = 1 << 20;
  private static final long UNKNOWN_SIZE_VOLUME = 1L << 30;

  private final Inventory inv;

  /** Creates the media workflows of {@code inv}. */
  VmMedia(Inventory inv) {
    this.inv = inv;
  }

  /** Throws unless {@code name} is a valid media file name. */
  public static void checkName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("bad media file name '" + name
          + "': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** Returns VM {@code vm}'s complete media files, in the order they were added. */
  public List<MediaFile> list(String vm) throws InventoryException {
    return inv.vms().get(vm).media().stream().filter(MediaFile::complete).toList();
  }

  /**
   * Adds media file {@code name} with role {@code role} to VM {@code vm}, its bytes read from
   * {@code in} to its end (the caller closes it).
   *
   * @param sizeHint the expected length (sizes the volume at first; it grows when wrong), or -1
   * @param progress hears the bytes read so far; a job's cancellation throws from it
   * @return the recorded file, with its size and SHA-256
   */
  public MediaFile add(String vm, String name, String role, InputStream in, long sizeHint, LongConsumer progress)
      throws IOException {
    checkName(name);
    if (!MediaFile.ROLES.contains(role)) {
      throw new IllegalArgumentException("bad media role '" + role + "': use one of " + MediaFile.ROLES.stream().sorted().toList());
    }
    Datastore store = inv.datastore();
    VirtualMachine marked;
    String volume;
    synchronized (inv) {
      VirtualMachine m = inv.vms().ready(vm);
      if (m.mediaFile(name) != null) {
        throw new InventoryException("VM " + vm + " already has a media file " + name);
      }
      if (m.media().size() >= MAX_FILES) {
        throw new InventoryException("VM " + vm + " already has " + MAX_FILES + " media files, the most it may have");
      }
      volume = freeVolume(m);
      List<MediaFile> media = new ArrayList<>(m.media());
      media.add(new MediaFile(name, role, volume, -1, null));
      marked = m.withMedia(media).withPending(Pending.of(ADD, name));
      inv.save(inv.document().with(marked));
    }
    MediaFile done;
    try {
      done = copy(store, volume, name, role, in, sizeHint, progress);
      inv.checkpoint("media-add:" + volume);
    } catch (IOException | RuntimeException e) {
      synchronized (inv) {
        inv.vms().undoAfter(e, marked);
      }
      throw e;
    }
    synchronized (inv) {
      List<MediaFile> media = new ArrayList<>(marked.media());
      media.replaceAll(f -> f.name().equals(name) ? done : f);
      inv.save(inv.document().with(marked.withMedia(media).withPending(null)));
    }
    return done;
  }

  /** Removes media file {@code name} of VM {@code vm} and its volume. */
  public void remove(String vm, String name) throws IOException {
    synchronized (inv) {
      VirtualMachine m = inv.vms().ready(vm);
      if (m.mediaFile(name) == null) {
        throw new InventoryException("VM " + vm + " has no media file " + name + " (it has "
            + m.media().stream().map(MediaFile::name).toList() + ")");
      }
      VirtualMachine marked = m.withPending(Pending.of(REMOVE, name));
      inv.save(inv.document().with(marked));
      finish(marked);
    }
  }

  /**
   * Opens media file {@code name} of VM {@code vm} for reading: a stream of exactly its bytes,
   * whose SHA-256 is checked when its end is read.
   */
  public InputStream open(String vm, String name) throws IOException {
    MediaFile f = inv.vms().get(vm).mediaFile(name);
    if (f == null || !f.complete()) {
      throw new InventoryException("VM " + vm + " has no media file " + name);
    }
    return new MediaInputStream(inv.datastore().volume(f.volume(), true), f);
  }

  /** Finishes an interrupted add (by undoing it) or remove: the file's volume and entry go. */
  void finish(VirtualMachine vm) throws IOException {
    String name = vm.pending().args().isEmpty() ? null : vm.pending().args().getFirst();
    MediaFile f = name == null ? null : vm.mediaFile(name);
    if (f != null) {
      inv.deleteIfPresent(f.volume());
      inv.checkpoint(vm.pending().operation() + ":" + f.volume());
    }
    List<MediaFile> media = new ArrayList<>(vm.media());
    media.removeIf(m -> m.name().equals(name));
    inv.save(inv.document().with(vm.withMedia(media).withPending(null)));
  }

  /** Returns the first {@code VM-mediaN} that neither the VM's record nor the datastore uses. */
  private String freeVolume(VirtualMachine m) throws InventoryException {
    for (int i = 0; i < 4 * MAX_FILES; i++) {
      String v = m.name() + "-media" + i;
      if (m.media().stream().noneMatch(f -> f.volume().equals(v)) && !inv.datastore().hasVolume(v)) {
        return v;
      }
    }
    throw new InventoryException("cannot add a media file to VM " + m.name() + ": no free volume name " + m.name()
        + "-mediaN in " + inv.datastore());
  }

  private static MediaFile copy(Datastore store, String volume, String name, String role, InputStream in, long sizeHint,
      LongConsumer progress) throws IOException {
    MessageDigest sha = sha256();
    long size = sizeHint > 0 && sizeHint <= MAX_BYTES ? roundUp(sizeHint) : UNKNOWN_SIZE_VOLUME;
    store.createVolume(volume, size).close();
    byte[] buf = new byte[BUFFER];
    long total = 0;
    Volume v = store.volume(volume);
    try {
      for (int n; (n = in.readNBytes(buf, 0, BUFFER)) > 0; ) {
        if (total + n > MAX_BYTES) {
          throw new IllegalArgumentException("media file " + name + " is larger than " + MAX_BYTES + " bytes, the most"
              + " a media file may hold");
        }
        sha.update(buf, 0, n);
        if (total + n > size) {
          // The size hint was wrong (a compressed file's stored size): grow the thin volume.
          v.close();
          size = Math.min(MAX_BYTES, Math.max(2 * size, roundUp(total + n)));
          store.resizeVolume(volume, size, false);
          v = store.volume(volume);
        }
        if (!allZero(buf, n)) {
          // A thin volume reads zeros where nothing was written: an ISO's empty stretches cost nothing.
          v.write(total, ByteBuffer.wrap(buf, 0, n));
        }
        total += n;
        progress.accept(total);
      }
      v.flush();
    } finally {
      v.close();
    }
    long exact = roundUp(Math.max(1, total));
    if (exact != size) {
      store.resizeVolume(volume, exact, true);
    }
    return new MediaFile(name, role, volume, total, HexFormat.of().formatHex(sha.digest()));
  }

  private static long roundUp(long n) {
    return (n + 511) & ~511L;
  }

  private static boolean allZero(byte[] b, int n) {
    for (int i = 0; i < n; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }
}
