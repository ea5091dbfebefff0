package io.vstore.nbd;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.blockstore.testing.MemoryBlockDevice;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * Feeds arbitrary client bytes to negotiation and then to the transmission phase: the only
 * acceptable outcomes are a finished session or an {@link IOException} (end of input, protocol
 * violation); never an unchecked exception, a hang or an unbounded allocation.
 */
class NbdFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void anyClientBytesEndInAnAgreementOrAnIoError(byte[] input) throws Exception {
    MemoryBlockDevice disk = new MemoryBlockDevice("fuzz", 1 << 20);
    ExportRegistry registry = new ExportRegistry();
    registry.add(new Export("disk", "fuzzed", disk, false,
        List.of(MetaContexts.dirtyBitmap("b", disk.size(), (o, l) -> List.of(new ChangedAreas.Area(4096, 4096))))));
    registry.add(new Export("ro", "", new MemoryBlockDevice("ro", 65536), true, List.of()));
    Replay transport = new Replay(input);
    try {
      Optional<Handshake.Agreement> agreed = new Handshake(transport, registry, null, false).run();
      if (agreed.isPresent()) {
        // Run workers inline so the whole session is deterministic for one input.
        new Transmission(agreed.get(), new BufferPool(64L << 20), Runnable::run, new java.util.concurrent.atomic.LongAdder()).serve();
      }
    } catch (IOException expected) {
      // End of input or a protocol violation: the connection would be closed.
    }
  }

  /** Plays back the fuzzer's bytes as what the client sends; discards what the server writes. */
  private static final class Replay implements Transport {
    private final ByteBuffer in;

    Replay(byte[] input) {
      this.in = ByteBuffer.wrap(input);
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
      if (in.remaining() < dst.remaining()) {
        in.position(in.limit());
        throw new EOFException("end of fuzz input");
      }
      ByteBuffer slice = in.slice(in.position(), dst.remaining());
      in.position(in.position() + dst.remaining());
      dst.put(slice);
    }

    @Override
    public void write(ByteBuffer... srcs) {
      for (ByteBuffer b : srcs) {
        b.position(b.limit());
      }
    }

    @Override
    public void shutdownInput() {
      in.position(in.limit());
    }

    @Override
    public boolean isTls() {
      return false;
    }

    @Override
    public Transport startTls(SSLContext context) throws IOException {
      throw new IOException("no TLS while fuzzing");
    }

    @Override
    public void close() {}
  }
}
