package io.vstore.backup.repo;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.backup.crypto.Aead;
import io.vstore.backup.store.ObjectStore;
import io.vstore.blockstore.UnsupportedFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;

/**
 * The repository's object parsers on arbitrary bytes: each either parses or throws {@link
 * CorruptObjectException} / {@link UnsupportedFormatException}, never an unchecked exception or an
 * allocation sized by the input; check and verify report damaged objects and never throw.
 */
class RepositoryObjectFuzzTest {
  private static final Aead KEY = new Aead(new byte[32]);

  /**
   * Frames the input as the body of a valid envelope (so the CRC32C does not stop the fuzzer at the
   * frame) and parses it as the chosen object type, plain or sealed.
   */
  @FuzzTest(maxDuration = "20s")
  void framedBodies(FuzzedDataProvider data) throws Exception {
    int type = data.consumeInt(1, 6);
    boolean sealed = data.consumeBoolean();
    int expected = data.consumeInt(0, 100_000);
    byte[] body = data.consumeRemainingAsBytes();
    Aead aead = sealed && type != Envelope.CONFIG && type != Envelope.KEY ? KEY : null;
    String key = switch (type) {
      case Envelope.CONFIG -> ConfigObject.KEY;
      case Envelope.KEY -> "keys/0123456789abcdef";
      case Envelope.INDEX -> "index/00";
      case Envelope.MANIFEST -> "points/0123456789abcdef";
      case Envelope.PAGE -> "pages/00/00";
      default -> "data/00/00";
    };
    byte[] obj = Envelope.write(type, 1, ByteBuffer.wrap(body), aead, key);
    try {
      switch (type) {
        case Envelope.CONFIG -> ConfigObject.read(obj);
        case Envelope.KEY -> KeyObject.read(obj, key);
        case Envelope.INDEX -> IndexObject.read(obj, aead, key, (p, id, o, s, l) -> {});
        case Envelope.MANIFEST -> Manifest.read(obj, aead, "0123456789abcdef", 65536);
        case Envelope.PAGE -> Page.read(obj, aead, key, expected);
        default -> PackTrailer.read(obj, 0, obj.length, expected, aead, key);
      }
    } catch (CorruptObjectException | UnsupportedFormatException expectedFailure) {
      // named damage: fine
    }
  }

  private static ObjectStore store;
  private static Repository repo;
  private static String pointId;

  private static synchronized Repository repository() throws IOException {
    if (repo == null) {
      store = TestRepos.memoryStore();
      repo = Repository.init(store, null, TestRepos.options());
      PointWriter w = repo.newPoint(3L * TestRepos.CHUNK, null);
      try (ChunkSink sink = repo.openSink()) {
        ByteBuffer chunk = TestRepos.chunk(2, TestRepos.CHUNK);
        ChunkId id = repo.chunkId(chunk);
        sink.add(id, chunk);
        w.set(1, id, TestRepos.CHUNK);
        pointId = w.commit(new PointMeta("v", "volume", null, null, Instant.EPOCH, List.of(), 0), sink).id();
      }
    }
    return repo;
  }

  /** Stores arbitrary bytes as a pack, index, page or manifest of a real repository; check and verify report, never throw. */
  @FuzzTest(maxDuration = "20s")
  void rawObjectsAreReportedNotThrown(FuzzedDataProvider data) throws Exception {
    Repository r = repository();
    int kind = data.consumeInt(0, 3);
    byte[] bytes = data.consumeRemainingAsBytes();
    String key = switch (kind) {
      case 0 -> "data/ff/ffffffffffffffffffffffffffffffff";
      case 1 -> "index/ffffffffffffffffffffffffffffffff";
      case 2 -> "pages/ff/" + "f".repeat(64);
      default -> "points/ffffffffffffffff";
    };
    store.putIfAbsent(key, ByteBuffer.wrap(bytes));
    try {
      r.check();
      r.verify(100);
      if (kind == 3) {
        try (PointReader p = r.openPoint("ffffffffffffffff")) {
          p.forEach(0, p.chunkCount(), ref -> {});
        } catch (CorruptObjectException | UnsupportedFormatException expected) {
          // named damage
        }
      }
      try (PointReader p = r.openPoint(pointId)) {
        p.forEach(0, p.chunkCount(), ref -> {});
      }
    } finally {
      store.delete(key);
    }
  }
}
