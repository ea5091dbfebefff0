package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;

/**
 * Pinned change ids: durable catalog entries {@code p/<volume id><generation><label>} (ids
 * big-endian, the label UTF-8, empty for an unnamed pin) whose value is JSON
 * {@code {"created": ...}}. A pinned generation keeps the change log from merging across it
 * ({@link ChangeLog}). Pins change with the commit lock held exclusively, after a flush, in their own
 * synced batch, so a flush staged afterwards sees them.
 */
final class ChangePins {
  private static final int MAX_LABEL = 128;

  private ChangePins() {}

  /** A pin's catalog value: {@code {"created": ...}}. */
  private static byte[] pinValue(String created) {
    return JsonRecords.write(false, g -> g.writeStringField("created", created));
  }

  /** Returns the {@code created} field of a pin's catalog value. */
  private static String created(byte[] value) throws IOException {
    String[] created = new String[1];
    JsonRecords.read(value, (field, p) -> {
      if (!field.equals("created")) {
        return false;
      }
      created[0] = JsonRecords.text(p);
      return true;
    });
    return created[0];
  }

  /** One stored pin: where it is and what it says. */
  private record Stored(long volume, long generation, String label, String created) {}

  /** Pins change id {@code changeId} under {@code label} (null or empty: unnamed) and returns the pin. */
  static ChangePin pin(StoreParts parts, String changeId, String label) throws IOException {
    String name = label == null ? "" : label;
    if (name.length() > MAX_LABEL || name.contains("/") || !name.strip().equals(name)) {
      throw new IllegalArgumentException("bad pin label '" + name + "': at most " + MAX_LABEL
          + " characters, no '/', no leading or trailing blanks");
    }
    CommitPipeline commits = parts.commits();
    commits.lock().writeLock().lock();
    try {
      commits.checkOpen();
      commits.flushLocked();
      VolumeState v = owner(parts, changeId);
      long generation = ChangeTracking.parse(v, null, changeId);
      ChangeLog.checkTracked(parts.meta(), v, changeId, generation);
      for (Stored s : stored(parts.meta(), -1)) {
        if (!name.isEmpty() && s.label().equals(name)) {
          if (s.volume() == v.id && s.generation() == generation) {
            return info(v, s);
          }
          throw new DatastoreException("cannot pin " + changeId + " as '" + name + "': that label already pins "
              + changeIdOf(parts, s) + " (unpin it first)");
        }
        if (s.volume() == v.id && s.generation() == generation && s.label().equals(name)) {
          return info(v, s);
        }
      }
      Stored s = new Stored(v.id, generation, name, Instant.now().toString());
      try (WriteBatch batch = new WriteBatch()) {
        batch.put(parts.meta().catalog, key(v.id, generation, name), pinValue(s.created()));
        parts.meta().commit(batch);
      } catch (RocksDBException e) {
        throw new IOException("cannot pin " + changeId + ": " + e.getMessage(), e);
      }
      return info(v, s);
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /**
   * Removes the pins of {@code changeIdOrLabel}: every pin of a change id, or the pin of a label;
   * returns them. The history they kept apart is merged.
   */
  static List<ChangePin> unpin(StoreParts parts, String changeIdOrLabel) throws IOException {
    CommitPipeline commits = parts.commits();
    commits.lock().writeLock().lock();
    try {
      commits.checkOpen();
      commits.flushLocked();
      boolean byId = changeIdOrLabel.contains("/");
      VolumeState owner = byId ? owner(parts, changeIdOrLabel) : null;
      List<Stored> gone = new ArrayList<>();
      for (Stored s : stored(parts.meta(), -1)) {
        if (byId ? s.volume() == owner.id && changeIdOrLabel.equals(changeIdOf(parts, s))
            : s.label().equals(changeIdOrLabel)) {
          gone.add(s);
        }
      }
      if (gone.isEmpty()) {
        throw new DatastoreException("no pin " + (byId ? "of change id " : "named ") + changeIdOrLabel
            + " (see 'cbt pins')");
      }
      List<ChangePin> out = new ArrayList<>();
      try (WriteBatch batch = new WriteBatch()) {
        for (Stored s : gone) {
          batch.delete(parts.meta().catalog, key(s.volume(), s.generation(), s.label()));
          out.add(info(parts.volumes().byId(s.volume()), s));
        }
        parts.meta().commit(batch);
      } catch (RocksDBException e) {
        throw new IOException("cannot unpin " + changeIdOrLabel + ": " + e.getMessage(), e);
      }
      for (Stored s : gone) {
        VolumeState v = parts.volumes().byId(s.volume());
        if (v != null) {
          ChangeLog.released(parts.meta(), v, s.generation());
        }
      }
      return out;
    } finally {
      commits.lock().writeLock().unlock();
    }
  }

  /** Returns the pins of {@code v}, or of every volume when null, by volume and generation. */
  static List<ChangePin> list(StoreParts parts, VolumeState v) throws IOException {
    List<ChangePin> out = new ArrayList<>();
    for (Stored s : stored(parts.meta(), v == null ? -1 : v.id)) {
      VolumeState owner = parts.volumes().byId(s.volume());
      if (owner != null) {
        out.add(info(owner, s));
      }
    }
    return out;
  }

  /** Stages the removal of every pin of volume {@code volumeId}; the caller holds the commit lock exclusively. */
  static void stageDeleteAll(StoreParts parts, long volumeId) {
    MetaStore meta = parts.meta();
    parts.commits().stage(batch -> batch.deleteRange(meta.catalog, prefix(volumeId), prefix(volumeId + 1)));
  }

  /**
   * Returns the catalog puts that copy volume id {@code fromId}'s pins in {@code from} to volume id
   * {@code toId} in {@code to}, labels and creation times kept (a transplant's). Refuses, naming
   * it, a label that already pins something in {@code to}: labels are unique in a datastore.
   */
  static List<byte[][]> copies(MetaStore from, long fromId, MetaStore to, long toId) throws IOException {
    List<Stored> pins = stored(from, fromId);
    java.util.Set<String> taken = new java.util.HashSet<>();
    for (Stored s : stored(to, -1)) {
      taken.add(s.label());
    }
    List<byte[][]> out = new ArrayList<>();
    for (Stored s : pins) {
      if (!s.label().isEmpty() && taken.contains(s.label())) {
        throw new DatastoreException("cannot move the pin '" + s.label() + "' of generation " + s.generation()
            + ": the destination already has a pin of that name (unpin or rename one of them first)");
      }
      out.add(new byte[][] {key(toId, s.generation(), s.label()), pinValue(s.created())});
    }
    return out;
  }

  /** Returns whether volume {@code volume} has a pin at a generation in {@code [from, to]}. */
  static boolean pinnedBetween(MetaStore meta, long volume, long from, long to) {
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      it.seek(ByteBuffer.allocate(18).put(prefix(volume)).putLong(from).array());
      return it.isValid() && it.key().length >= 18 && Arrays.equals(it.key(), 0, 10, prefix(volume), 0, 10)
          && ByteBuffer.wrap(it.key()).getLong(10) <= to;
    }
  }

  /** Returns the stored pins of volume id {@code volume} (every volume when negative), in key order. */
  private static List<Stored> stored(MetaStore meta, long volume) throws IOException {
    byte[] start = volume < 0 ? Keys.catalogPrefix('p') : prefix(volume);
    byte[] end = volume < 0 ? Keys.catalogPrefix('q') : prefix(volume + 1);
    List<Stored> out = new ArrayList<>();
    try (RocksIterator it = meta.iterator(meta.catalog)) {
      for (it.seek(start); it.isValid() && Arrays.compareUnsigned(it.key(), end) < 0; it.next()) {
        byte[] k = it.key();
        if (k.length < 18) {
          throw new IOException("bad catalog: pin key of " + k.length + " bytes, expected at least 18");
        }
        ByteBuffer b = ByteBuffer.wrap(k);
        String label = new String(k, 18, k.length - 18, StandardCharsets.UTF_8);
        out.add(new Stored(b.getLong(2), b.getLong(10), label, created(it.value())));
      }
    }
    return out;
  }

  /** Returns the generations pinned in volume id {@code volume}, for the checker. */
  static List<Long> generations(MetaStore meta, long volume) throws IOException {
    return stored(meta, volume).stream().map(Stored::generation).toList();
  }

  private static byte[] prefix(long volume) {
    return Keys.catalog('p', volume);
  }

  private static byte[] key(long volume, long generation, String label) {
    byte[] l = label.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(18 + l.length).put(prefix(volume)).putLong(generation).put(l).array();
  }

  /** Returns the volume whose change ids start like {@code changeId}'s. */
  private static VolumeState owner(StoreParts parts, String changeId) throws ChangeIdException {
    int slash = changeId.lastIndexOf('/');
    String uuid = slash < 0 ? changeId : changeId.substring(0, slash);
    for (VolumeState v : parts.volumes().all()) {
      if (v.uuid.toString().equals(uuid)) {
        return v;
      }
    }
    throw new ChangeIdException("change id " + changeId + " belongs to no volume of this datastore (expected "
        + "<volume-uuid>/<generation> from 'volume info' or 'cbt changes')");
  }

  private static String changeIdOf(StoreParts parts, Stored s) {
    VolumeState v = parts.volumes().byId(s.volume());
    return (v == null ? "volume id " + s.volume() : v.uuid.toString()) + "/" + s.generation();
  }

  private static ChangePin info(VolumeState v, Stored s) {
    return new ChangePin(v.name, v.uuid + "/" + s.generation(), s.label(), s.created());
  }
}
