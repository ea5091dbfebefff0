package io.vstore.nbd.client;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vstore.nbd.Nbd;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A server that negotiates properly and then answers with the fuzzer's bytes: reads, block status,
 * zeroing and flush of the client may only succeed or fail with an {@link IOException}; never an
 * unchecked exception, a hang or an allocation sized by the server.
 */
class NbdClientFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void anyServerRepliesEndInDataOrAnIoError(byte[] input) throws Exception {
    boolean structured = input.length > 0 && (input[0] & 1) != 0;
    ByteBuffer script = ByteBuffer.allocate(512 + input.length);
    script.putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT).putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES));
    if (structured) {
      optionReply(script, Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, new byte[0]);
      byte[] name = "base:allocation".getBytes(StandardCharsets.UTF_8);
      optionReply(script, Nbd.OPT_SET_META_CONTEXT, Nbd.REP_META_CONTEXT,
          ByteBuffer.allocate(4 + name.length).putInt(1).put(name).array());
      optionReply(script, Nbd.OPT_SET_META_CONTEXT, Nbd.REP_ACK, new byte[0]);
    } else {
      optionReply(script, Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_BIT + 1, new byte[0]);
    }
    optionReply(script, Nbd.OPT_GO, Nbd.REP_INFO, ByteBuffer.allocate(12).putShort((short) Nbd.INFO_EXPORT)
        .putLong(1 << 20).putShort((short) (1 | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_WRITE_ZEROES)).array());
    optionReply(script, Nbd.OPT_GO, Nbd.REP_ACK, new byte[0]);
    if (input.length > 1) {
      script.put(input, 1, input.length - 1);
    }
    byte[] bytes = java.util.Arrays.copyOf(script.array(), script.position());
    try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server = Thread.ofVirtual().start(() -> serve(listener, bytes));
      NbdBlockDevice.Options options = NbdBlockDevice.Options.defaults().withRequestTimeout(Duration.ofSeconds(10));
      try (NbdBlockDevice d = NbdBlockDevice.connect(new NbdAddress("127.0.0.1", listener.getLocalPort(), "x", false),
          options)) {
        try {
          d.read(4096, ByteBuffer.allocate(65536));
        } catch (IOException expected) {
          // a refused or malformed reply
        }
        try {
          d.allocation(0, d.size());
        } catch (IOException expected) {
          // as above
        }
        try {
          d.writeZeroes(0, 8192, false);
          d.flush();
        } catch (IOException expected) {
          // as above
        }
      } catch (IOException expected) {
        // negotiation refused, or the connection broke
      }
      server.join();
    }
  }

  private static void optionReply(ByteBuffer b, int option, int type, byte[] data) {
    b.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(data.length).put(data);
  }

  /** Sends the script, then reads (and drops) what the client sends until it hangs up. */
  private static void serve(ServerSocket listener, byte[] script) {
    try (Socket s = listener.accept()) {
      OutputStream out = s.getOutputStream();
      out.write(script);
      out.flush();
      s.shutdownOutput();
      InputStream in = s.getInputStream();
      byte[] sink = new byte[65536];
      while (in.read(sink) >= 0) {
        // drain
      }
    } catch (IOException e) {
      // the client hung up
    }
  }
}
