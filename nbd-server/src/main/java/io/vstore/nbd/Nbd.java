package io.vstore.nbd;

/**
 * The NBD protocol's magic numbers, flags, option, command and error values (doc/proto.md), for
 * the server and the client ({@code io.vstore.nbd.client}) alike.
 */
public final class Nbd {
  private Nbd() {}

  // Handshake magic.
  public static final long NBDMAGIC = 0x4e42444d41474943L;
  public static final long IHAVEOPT = 0x49484156454F5054L;
  public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;

  // Handshake flags (server) and client flags.
  public static final int FLAG_FIXED_NEWSTYLE = 1;
  public static final int FLAG_NO_ZEROES = 1 << 1;
  public static final int FLAG_C_FIXED_NEWSTYLE = 1;
  public static final int FLAG_C_NO_ZEROES = 1 << 1;

  // Transmission flags.
  public static final int FLAG_HAS_FLAGS = 1;
  public static final int FLAG_READ_ONLY = 1 << 1;
  public static final int FLAG_SEND_FLUSH = 1 << 2;
  public static final int FLAG_SEND_FUA = 1 << 3;
  public static final int FLAG_SEND_TRIM = 1 << 5;
  public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
  public static final int FLAG_SEND_DF = 1 << 7;
  public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
  public static final int FLAG_SEND_CACHE = 1 << 10;
  public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

  // Options.
  public static final int OPT_EXPORT_NAME = 1;
  public static final int OPT_ABORT = 2;
  public static final int OPT_LIST = 3;
  public static final int OPT_STARTTLS = 5;
  public static final int OPT_INFO = 6;
  public static final int OPT_GO = 7;
  public static final int OPT_STRUCTURED_REPLY = 8;
  public static final int OPT_LIST_META_CONTEXT = 9;
  public static final int OPT_SET_META_CONTEXT = 10;

  // Option replies.
  public static final int REP_ACK = 1;
  public static final int REP_SERVER = 2;
  public static final int REP_INFO = 3;
  public static final int REP_META_CONTEXT = 4;
  /** Set in every error reply type. */
  public static final int REP_ERR_BIT = 0x80000000;
  public static final int REP_ERR_UNSUP = 0x80000000 + 1;
  public static final int REP_ERR_POLICY = 0x80000000 + 2;
  public static final int REP_ERR_INVALID = 0x80000000 + 3;
  public static final int REP_ERR_TLS_REQD = 0x80000000 + 5;
  public static final int REP_ERR_UNKNOWN = 0x80000000 + 6;
  public static final int REP_ERR_SHUTDOWN = 0x80000000 + 7;
  public static final int REP_ERR_TOO_BIG = 0x80000000 + 9;

  // NBD_REP_INFO types.
  public static final int INFO_EXPORT = 0;
  public static final int INFO_NAME = 1;
  public static final int INFO_DESCRIPTION = 2;
  public static final int INFO_BLOCK_SIZE = 3;

  // Transmission phase.
  public static final int REQUEST_MAGIC = 0x25609513;
  public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
  public static final int REQUEST_HEADER_SIZE = 28;
  public static final int SIMPLE_REPLY_HEADER_SIZE = 16;
  public static final int CHUNK_HEADER_SIZE = 20;

  public static final int CMD_READ = 0;
  public static final int CMD_WRITE = 1;
  public static final int CMD_DISC = 2;
  public static final int CMD_FLUSH = 3;
  public static final int CMD_TRIM = 4;
  public static final int CMD_CACHE = 5;
  public static final int CMD_WRITE_ZEROES = 6;
  public static final int CMD_BLOCK_STATUS = 7;

  public static final int CMD_FLAG_FUA = 1;
  public static final int CMD_FLAG_NO_HOLE = 1 << 1;
  public static final int CMD_FLAG_DF = 1 << 2;
  public static final int CMD_FLAG_REQ_ONE = 1 << 3;
  public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

  public static final int REPLY_FLAG_DONE = 1;
  public static final int REPLY_TYPE_NONE = 0;
  public static final int REPLY_TYPE_OFFSET_DATA = 1;
  public static final int REPLY_TYPE_OFFSET_HOLE = 2;
  public static final int REPLY_TYPE_BLOCK_STATUS = 5;
  public static final int REPLY_TYPE_ERROR = (1 << 15) + 1;
  public static final int REPLY_TYPE_ERROR_OFFSET = (1 << 15) + 2;

  public static final int EPERM = 1;
  public static final int EIO = 5;
  public static final int ENOMEM = 12;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EOVERFLOW = 75;
  public static final int ENOTSUP = 95;
  public static final int ESHUTDOWN = 108;

  // base:allocation flags; qemu:dirty-bitmap uses bit 0 for "dirty".
  public static final int STATE_HOLE = 1;
  public static final int STATE_ZERO = 1 << 1;
  public static final int STATE_DIRTY = 1;

  /** Size constraints advertised with NBD_INFO_BLOCK_SIZE: any alignment works, 4 KiB is best. */
  public static final int MIN_BLOCK = 1;
  public static final int PREFERRED_BLOCK = 4096;
  public static final int MAX_PAYLOAD = 32 << 20;

  /** Longest string the protocol allows (names, queries, messages). */
  public static final int MAX_STRING = 4096;

  /** Most extents sent in one block-status chunk, as proto.md recommends. */
  public static final int MAX_EXTENTS = 1 << 20;

  /** Returns a name for an NBD error value, as in errno. */
  public static String errorName(int error) {
    return switch (error) {
      case EPERM -> "EPERM";
      case EIO -> "EIO";
      case ENOMEM -> "ENOMEM";
      case EINVAL -> "EINVAL";
      case ENOSPC -> "ENOSPC";
      case EOVERFLOW -> "EOVERFLOW";
      case ENOTSUP -> "ENOTSUP";
      case ESHUTDOWN -> "ESHUTDOWN";
      default -> "error " + error;
    };
  }
}
