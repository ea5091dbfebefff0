package io.vstore.backup.repo;

import io.vstore.backup.store.NoSuchObjectException;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.zip.CRC32C;

/**
 * {@link Repository#check} and {@link Repository#verify}. Every problem becomes a {@link
 * RepositoryReport.Problem} naming the object; corrupt data never escapes as an exception (only the
 * store failing does).
 */
final class Checker {
  private static final int TRAILER_CACHE = 64;

  private final Repository repo;
  private final ObjectStore store;
  private final List<RepositoryReport.Problem> problems = new ArrayList<>();
  private long objects;
  private long chunks;
  private long bytes;

  Checker(Repository repo) {
    this.repo = repo;
    this.store = repo.store();
  }

  private synchronized void problem(String object, String message) {
    problems.add(new RepositoryReport.Problem(object, message));
  }

  private static String detail(Exception e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  RepositoryReport check() throws IOException {
    checkConfig();
    checkKeys();
    checkIndex();
    checkPoints();
    return new RepositoryReport(problems, objects, chunks, bytes);
  }

  private void checkConfig() throws IOException {
    objects++;
    try {
      byte[] obj = store.get(ConfigObject.KEY);
      bytes += obj.length;
      ConfigObject now = ConfigObject.read(obj);
      if (!now.equals(repo.configObject()) && !java.util.Arrays.equals(now.write(), repo.configObject().write())) {
        problem(ConfigObject.KEY, "differs from the config read when the repository was opened");
      }
    } catch (NoSuchObjectException e) {
      problem(ConfigObject.KEY, "missing");
    } catch (CorruptObjectException | UnsupportedFormatException e) {
      problem(ConfigObject.KEY, detail(e));
    }
  }

  private void checkKeys() throws IOException {
    List<String> ids = KeyRing.keyIds(store);
    if (repo.config().encrypted() && ids.isEmpty()) {
      problem(KeyRing.PREFIX, "an encrypted repository without keys");
    }
    for (String id : ids) {
      String key = KeyRing.PREFIX + id;
      objects++;
      try {
        byte[] obj = store.get(key);
        bytes += obj.length;
        KeyObject.read(obj, key);
      } catch (NoSuchObjectException e) {
        // Removed since the listing.
      } catch (CorruptObjectException | UnsupportedFormatException e) {
        problem(key, detail(e));
      }
    }
  }

  private void checkIndex() throws IOException {
    for (RepositoryReport.Problem p : repo.loadProblems()) {
      problems.add(p);
    }
    List<String> keys = new ArrayList<>();
    store.list(IndexObject.PREFIX, o -> keys.add(o.key()));
    keys.sort(null);
    Map<String, Optional<TrailerLookup>> trailers = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Optional<TrailerLookup>> eldest) {
        return size() > TRAILER_CACHE;
      }
    };
    Set<String> reportedPacks = new HashSet<>();
    for (String key : keys) {
      objects++;
      byte[] obj;
      try {
        obj = store.get(key);
      } catch (NoSuchObjectException e) {
        continue;
      }
      bytes += obj.length;
      List<String> entryProblems = new ArrayList<>();
      try {
        IndexObject.read(obj, repo.dataKey(), key, (packId, id, offset, stored, plain) -> {
          chunks++;
          String packKey = Hex.packKey(packId);
          Optional<TrailerLookup> trailer = trailers.get(packKey);
          if (trailer == null) {
            trailer = readTrailerQuietly(packKey, reportedPacks).map(TrailerLookup::new);
            trailers.put(packKey, trailer);
          }
          if (trailer.isEmpty()) {
            return;
          }
          PackTrailer t = trailer.get().trailer;
          int at = trailer.get().indexOf(id);
          if (at < 0) {
            entryProblems.add("chunk " + id.hex() + ": pack " + packKey + "'s trailer does not list it");
          } else if (t.offsets()[at] != offset || t.storedLengths()[at] != stored || t.plainLengths()[at] != plain) {
            entryProblems.add("chunk " + id.hex() + ": index says " + packKey + " at " + offset + "+" + stored + " ("
                + plain + " plain), trailer says " + t.offsets()[at] + "+" + t.storedLengths()[at] + " ("
                + t.plainLengths()[at] + " plain)");
          }
        });
      } catch (CorruptObjectException | UnsupportedFormatException e) {
        if (repo.loadProblems().stream().noneMatch(p -> p.object().equals(key))) {
          problem(key, detail(e));
        }
      } catch (UncheckedProblem e) {
        throw e.io;
      }
      for (String p : entryProblems) {
        problem(key, p);
      }
    }
  }

  /** Carries a store failure out of an index visitor. */
  private static final class UncheckedProblem extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient IOException io;

    UncheckedProblem(IOException io) {
      super(io);
      this.io = io;
    }
  }

  private Optional<PackTrailer> readTrailerQuietly(String packKey, Set<String> reported) {
    try {
      objects++;
      return Optional.of(readTrailer(packKey));
    } catch (NoSuchObjectException e) {
      if (reported.add(packKey)) {
        problem(packKey, "missing, but the index names it");
      }
    } catch (CorruptObjectException | UnsupportedFormatException e) {
      if (reported.add(packKey)) {
        problem(packKey, detail(e));
      }
    } catch (IOException e) {
      throw new UncheckedProblem(e);
    }
    return Optional.empty();
  }

  /** Reads a pack's trailer with two ranged reads (its length, then itself). */
  PackTrailer readTrailer(String packKey) throws IOException {
    Optional<io.vstore.backup.store.ObjectInfo> info = store.stat(packKey);
    if (info.isEmpty()) {
      throw new NoSuchObjectException("no pack " + packKey);
    }
    long size = info.get().size();
    if (size < PackTrailer.HEADER_BYTES + 4) {
      throw Envelope.corrupt(packKey, "pack", "object of " + size + " bytes is too short for a pack");
    }
    byte[] header = store.get(packKey, 0, PackTrailer.HEADER_BYTES + 4);
    PackTrailer.checkHeader(header, packKey, repo.config().encrypted());
    int length = ByteBuffer.wrap(store.get(packKey, size - 4, 4)).getInt();
    if (length < Envelope.HEADER_BYTES + Envelope.CRC_BYTES || length > size - 4 - PackTrailer.HEADER_BYTES) {
      throw Envelope.corrupt(packKey, "pack", "trailer length " + length + " does not fit a pack of " + size + " bytes");
    }
    long trailerAt = size - 4 - length;
    byte[] trailer = store.get(packKey, trailerAt, length);
    bytes += length + 4 + PackTrailer.HEADER_BYTES;
    return PackTrailer.read(trailer, 0, length, trailerAt, repo.dataKey(), packKey);
  }

  /** Returns true if gc took the chunk out of the index but keeps it until no running backup may use it. */
  private boolean hiddenHas(ChunkId id) {
    try {
      return repo.hidden().find(id) != null;
    } catch (IOException e) {
      return false; // unreadable gc objects: the chunk is reported missing, which it then is for readers too
    }
  }

  /** A trailer with its entries by chunk id, so comparing an index with it is linear. */
  private static final class TrailerLookup {
    final PackTrailer trailer;
    final Map<ChunkId, Integer> positions;

    TrailerLookup(PackTrailer trailer) {
      this.trailer = trailer;
      this.positions = new java.util.HashMap<>(trailer.count() * 2);
      for (int i = 0; i < trailer.count(); i++) {
        positions.putIfAbsent(trailer.ids()[i], i);
      }
    }

    int indexOf(ChunkId id) {
      Integer i = positions.get(id);
      return i == null ? -1 : i;
    }
  }

  private void checkPoints() throws IOException {
    Set<ChunkId> checkedPages = new HashSet<>();
    for (String id : repo.pointIds("")) {
      String key = Hex.pointKey(id);
      objects++;
      Manifest m;
      try {
        byte[] obj = store.get(key);
        bytes += obj.length;
        m = Manifest.read(obj, repo.dataKey(), id, repo.config().chunkSize());
      } catch (NoSuchObjectException e) {
        continue;
      } catch (CorruptObjectException | UnsupportedFormatException e) {
        problem(key, detail(e));
        continue;
      }
      long chunkCount = (m.info().sizeBytes() + m.chunkSize() - 1) / m.chunkSize();
      for (int p = 0; p < m.root().length; p++) {
        ChunkId pageId = m.root()[p];
        if (pageId == null || !checkedPages.add(pageId)) {
          continue;
        }
        int count = (int) Math.min(m.pageChunks(), chunkCount - (long) p * m.pageChunks());
        objects++;
        byte[] ids;
        try {
          ids = repo.readPage(pageId, count);
          bytes += (long) count * ChunkId.BYTES;
        } catch (CorruptObjectException | UnsupportedFormatException e) {
          problem(Hex.pageKey(pageId), detail(e) + " (page " + p + " of point " + id + ")");
          continue;
        }
        int missing = 0;
        String first = null;
        for (int i = 0; i < count; i++) {
          byte[] c = java.util.Arrays.copyOfRange(ids, i * ChunkId.BYTES, (i + 1) * ChunkId.BYTES);
          ChunkId cid = ChunkId.wrap(c);
          if (!cid.isZero() && !repo.index().contains(cid) && !hiddenHas(cid)) {
            missing++;
            if (first == null) {
              first = cid.hex();
            }
          }
        }
        if (missing > 0) {
          problem(Hex.pageKey(pageId), missing + " chunk(s) not in the index, first " + first + " (page " + p
              + " of point " + id + ")");
        }
      }
    }
  }

  RepositoryReport verify(double samplePercent) throws IOException {
    List<String> packs = new ArrayList<>();
    store.list("data/", o -> packs.add(o.key()));
    packs.sort(null);
    Random random = new Random();
    List<String> chosen = new ArrayList<>();
    for (String packKey : packs) {
      if (samplePercent >= 100 || random.nextDouble() * 100 < samplePercent) {
        chosen.add(packKey);
      }
    }
    // Decrypting, decompressing and hashing is CPU-bound: one pack per core, at most two packs per
    // thread in memory.
    int threads = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), chosen.size()));
    ExecutorService pool = Executors.newFixedThreadPool(threads, Thread.ofPlatform().daemon().name("verify-", 0)
        .factory());
    Semaphore inFlight = new Semaphore(threads * 2);
    List<Future<?>> futures = new ArrayList<>();
    try {
      for (String packKey : chosen) {
        inFlight.acquireUninterruptibly();
        futures.add(pool.submit(() -> {
          try {
            verifyPack(packKey);
            return null;
          } finally {
            inFlight.release();
          }
        }));
      }
      for (Future<?> f : futures) {
        try {
          f.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException("verify of " + store + " interrupted");
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          throw new IllegalStateException(e.getCause());
        }
      }
    } finally {
      pool.shutdownNow();
    }
    synchronized (this) {
      return new RepositoryReport(problems, objects, chunks, bytes);
    }
  }

  private void verifyPack(String packKey) throws IOException {
    synchronized (this) {
      objects++;
    }
    byte[] pack;
    try {
      pack = store.get(packKey);
    } catch (NoSuchObjectException e) {
      return;
    }
    synchronized (this) {
      bytes += pack.length;
    }
    PackTrailer t;
    try {
      PackTrailer.checkHeader(pack, packKey, repo.config().encrypted());
      int length = ByteBuffer.wrap(pack, pack.length - 4, 4).getInt();
      if (length < Envelope.HEADER_BYTES + Envelope.CRC_BYTES || length > pack.length - 4 - PackTrailer.HEADER_BYTES) {
        throw Envelope.corrupt(packKey, "pack", "trailer length " + length + " does not fit a pack of " + pack.length
            + " bytes");
      }
      int trailerAt = pack.length - 4 - length;
      t = PackTrailer.read(pack, trailerAt, length, trailerAt, repo.dataKey(), packKey);
    } catch (CorruptObjectException | UnsupportedFormatException e) {
      problem(packKey, detail(e));
      return;
    }
    synchronized (this) {
      chunks += t.count();
    }
    for (int i = 0; i < t.count(); i++) {
      ChunkId id = t.ids()[i];
      int off = t.offsets()[i];
      int len = t.storedLengths()[i];
      CRC32C crc = new CRC32C();
      crc.update(pack, off, len);
      if ((int) crc.getValue() != t.crcs()[i]) {
        problem(packKey, String.format("chunk %s at %d+%d: CRC32C 0x%08x, trailer says 0x%08x", id.hex(), off, len,
            (int) crc.getValue(), t.crcs()[i]));
        continue;
      }
      try {
        repo.codec().decode(id, pack, off, len, t.plainLengths()[i], packKey, off, true);
      } catch (CorruptObjectException e) {
        problem(packKey, detail(e));
      }
    }
  }
}
