package io.vstore.nbd.client;

import io.vstore.blockstore.Extent;
import io.vstore.nbd.Nbd;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** One request waiting for its reply; only the reader thread fills in the reply fields. */
final class PendingRequest {
  final int command;
  final long offset;
  final int length;
  /** Reads: where the data goes, positioned at the request's first byte; else null. */
  final ByteBuffer dst;
  final CompletableFuture<Void> done = new CompletableFuture<>();
  /** Block status: the extents the server reported for the allocation context. */
  List<Extent> extents;
  /** Structured reads: bytes covered by data and hole chunks so far. */
  long covered;
  /** The first error the server reported for this request. */
  IOException error;

  PendingRequest(int command, long offset, int length, ByteBuffer dst) {
    this.command = command;
    this.offset = offset;
    this.length = length;
    this.dst = dst;
  }

  /** Names the request in error messages. */
  String describe() {
    String what = switch (command) {
      case Nbd.CMD_READ -> "read";
      case Nbd.CMD_WRITE -> "write";
      case Nbd.CMD_FLUSH -> "flush";
      case Nbd.CMD_WRITE_ZEROES -> "write zeroes";
      default -> "block status";
    };
    return what + " at " + offset + " length " + length;
  }
}
