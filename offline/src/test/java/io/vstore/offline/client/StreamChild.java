package io.vstore.offline.client;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * A streaming check-out in a process of its own, for {@link StreamCheckoutTest}'s kill -9: args are
 * the server URL, the token and the copy's directory; prints {@code PORT n} once serving, and each
 * background fetch takes a pause so the parent finds the download half done.
 */
final class StreamChild {
  private StreamChild() {}

  public static void main(String[] args) throws Exception {
    StreamingCheckout s = StreamingCheckout.start("desk", args[0], args[1], null, Path.of(args[2]),
        StreamCheckoutTest.PASS, new InetSocketAddress("127.0.0.1", 0), (done, total, bytes) -> {
          try {
            Thread.sleep(2000);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    System.out.println("PORT " + s.address().getPort());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE); // until killed
  }
}
