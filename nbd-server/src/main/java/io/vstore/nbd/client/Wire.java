package io.vstore.nbd.client;

/** The NBD protocol values the client uses (the NBD project's doc/proto.md). */
final class Wire {
  private Wire() {}

  static final long NBDMAGIC = 0x4e42444d41474943L;
  static final long IHAVEOPT = 0x49484156454F5054L;
  static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;

  static final int FLAG_FIXED_NEWSTYLE = 1;
  static final int FLAG_NO_ZEROES = 1 << 1;

  static final int TFLAG_READ_ONLY = 1 << 1;
  static final int TFLAG_SEND_FLUSH = 1 << 2;
  static final int TFLAG_SEND_FUA = 1 << 3;
  static final int TFLAG_SEND_TRIM = 1 << 5;
  static final int TFLAG_SEND_WRITE_ZEROES = 1 << 6;

  static final int OPT_STARTTLS = 5;
  static final int OPT_GO = 7;
  static final int OPT_STRUCTURED_REPLY = 8;
  static final int OPT_SET_META_CONTEXT = 10;

  static final int REP_ACK = 1;
  static final int REP_INFO = 3;
  static final int REP_META_CONTEXT = 4;
  static final int REP_ERR_BIT = 0x80000000;

  static final int INFO_EXPORT = 0;
  static final int INFO_BLOCK_SIZE = 3;

  static final int REQUEST_MAGIC = 0x25609513;
  static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

  static final int CMD_READ = 0;
  static final int CMD_WRITE = 1;
  static final int CMD_DISC = 2;
  static final int CMD_FLUSH = 3;
  static final int CMD_WRITE_ZEROES = 6;
  static final int CMD_BLOCK_STATUS = 7;

  static final int CMD_FLAG_NO_HOLE = 1 << 1;

  static final int REPLY_FLAG_DONE = 1;
  static final int REPLY_TYPE_NONE = 0;
  static final int REPLY_TYPE_OFFSET_DATA = 1;
  static final int REPLY_TYPE_OFFSET_HOLE = 2;
  static final int REPLY_TYPE_BLOCK_STATUS = 5;
  static final int REPLY_TYPE_ERROR = (1 << 15) + 1;
  static final int REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

  static final int STATE_HOLE = 1;
  static final int STATE_ZERO = 1 << 1;

  static final int EPERM = 1;
  static final int ENOSPC = 28;

  /** Longest option reply or error message accepted from a server; anything longer is malformed. */
  static final int MAX_OPTION_REPLY = 64 << 10;
  /** Largest payload the client sends or accepts in one request, whatever the server advertises. */
  static final int MAX_PAYLOAD = 32 << 20;
  /** Largest zeroing or block-status request: lengths are 32-bit and servers prefer aligned ranges. */
  static final long MAX_RANGE = 1L << 30;

  /** Returns a name for an NBD error value as in errno. */
  static String errorName(int error) {
    return switch (error) {
      case 1 -> "EPERM";
      case 5 -> "EIO";
      case 12 -> "ENOMEM";
      case 22 -> "EINVAL";
      case 28 -> "ENOSPC";
      case 75 -> "EOVERFLOW";
      case 95 -> "ENOTSUP";
      case 108 -> "ESHUTDOWN";
      default -> "error " + error;
    };
  }
}
