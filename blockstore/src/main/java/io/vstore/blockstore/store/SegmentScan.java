package io.vstore.blockstore.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.LongPredicate;
import java.util.stream.Stream;
import org.rocksdb.RocksIterator;

/**
 * Lists a datastore's segment files when it opens, and removes what a crash left half made.
 *
 * <p>A segment comes to be in steps: its id is taken and its file created empty (the directory
 * synced); its header goes to the file with its first block of records, written when the block is
 * full or at the next sync; a sync then makes the block durable. A crash can stop it after any
 * step: the file is empty, shorter than its header, or (after a power cut) holds zeros or a torn
 * header where the unsynced header was. A flush in between may already have committed the
 * segment counter past its id, so its id alone does not say that it is unused. Its records do:
 * a commit refers to a record only after a sync made the record's block durable, and the header
 * is in the segment's first block, before any record. So a segment whose header is incomplete
 * and that has no committed record holds nothing anyone can reference, and is deleted here; one
 * with committed records but a bad header is damage, kept for reads and {@code check} to report.
 */
final class SegmentScan {
  private static final System.Logger LOG = System.getLogger("io.vstore.blockstore");

  private SegmentScan() {}

  /**
   * Returns whether segment {@code id} holds any record that the metadata store {@code meta}
   * knows (the records column family is keyed by segment, then offset).
   */
  static LongPredicate recordsIn(MetaStore meta) {
    return id -> {
      try (RocksIterator it = meta.iterator(meta.records)) {
        it.seek(Keys.pair(id, 0));
        return it.isValid() && Keys.first(it.key()) == id;
      }
    };
  }

  /**
   * What the scan found: the sizes of the segments kept, by id, and the ids of those whose header
   * failed its check (damaged, or from a newer vstore), which are read only to report why not.
   */
  record Result(TreeMap<Long, Long> sizes, Set<Long> badHeaders) {}

  /**
   * Lists the segments of datastore {@code datastore} in {@code dir} and checks their headers, after
   * deleting the files that no commit can reference: ids at or above {@code committedNextId}, and
   * incomplete segments without records ({@code holdsRecords} says which segments hold committed
   * records).
   */
  static Result recover(Path dir, UUID datastore, long committedNextId, ChannelOpener opener,
      LongPredicate holdsRecords) throws IOException {
    TreeMap<Long, Long> sizes = new TreeMap<>();
    Set<Long> bad = new HashSet<>();
    boolean deleted = false;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Long id = idOf(p);
        if (id == null) {
          continue;
        }
        if (id >= committedNextId) {
          Files.delete(p); // written after the last commit: nothing refers to it
          deleted = true;
          continue;
        }
        long size = Files.size(p);
        ByteBuffer header = readHeader(p, opener);
        if (!SegmentHeader.complete(header) && !holdsRecords.test(id)) {
          LOG.log(System.Logger.Level.INFO, "{0}: removing a segment a crash left without a complete header ({1} bytes)",
              p, size);
          Files.delete(p);
          deleted = true;
          continue;
        }
        try {
          SegmentHeader.check(header, p, id, datastore);
        } catch (IOException e) {
          LOG.log(System.Logger.Level.WARNING, "{0}", e.getMessage());
          bad.add(id);
        }
        sizes.put(id, size);
      }
    }
    if (deleted) {
      syncDirectory(dir);
    }
    return new Result(sizes, bad);
  }

  /** Returns the id of segment file {@code p}, or null when the name is not a segment's. */
  static Long idOf(Path p) {
    String name = p.getFileName().toString();
    if (!name.endsWith(".seg") || name.length() != 20) {
      return null;
    }
    try {
      return Long.parseUnsignedLong(name.substring(0, 16), 16);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Returns the first {@link SegmentHeader#BYTES} of {@code p}, fewer when the file is shorter, flipped for reading. */
  static ByteBuffer readHeader(Path p, ChannelOpener opener) throws IOException {
    ByteBuffer header = ByteBuffer.allocate(SegmentHeader.BYTES);
    try (FileChannel ch = opener.open(p, Set.of(StandardOpenOption.READ))) {
      while (header.hasRemaining() && ch.read(header, header.position()) >= 0) {
        // read on: a short read is not the end of the file
      }
    }
    return header.flip();
  }

  /** Makes deletions in {@code dir} durable, where the file system can open a directory. */
  static void syncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException e) {
      // Some file systems cannot open directories; a deletion lost to a crash is redone next open.
    }
  }
}
